"""Test-only hooks for tests/core/test_ddp_adapters.py, loaded by its configs' ``custom_imports``.

``AuxBNProbe`` records, every time a BatchNorm layer inside the learner's auxiliary nets runs, whether it holds the
weights and statistics of the main-model BN layer it mirrors (the layer the learner trains), and which class it is
(SyncBatchNorm once mmengine's Runner converted the model for ``sync_bn``). ``DumpInitialParams`` saves every rank's
parameters as training starts, so that the test can tell which ones training moved.

Importing this module also lets DistributedDataParallel wrap SyncBatchNorm layers on CPU
(:func:`allow_sync_bn_on_cpu`), which torch refuses outright at construction.
"""
import json
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel


def allow_sync_bn_on_cpu():
    """Skip DDP's construction-time refusal of SyncBatchNorm on CPU ("SyncBatchNorm layers only work with GPU
    modules"; the check is all ``_passing_sync_batchnorm_handle`` does). The refusal guards SyncBatchNorm's
    train-mode forward, whose all-reduce of batch statistics needs a GPU; in eval mode (the test runs the backbone
    with norm_eval=True) it is plain ``F.batch_norm`` on the running statistics. A SyncBatchNorm that still ran in
    train mode on CPU would fail loudly in its forward ("SyncBatchNorm expected input tensor to be on GPU"), so
    this cannot hide a synchronisation the test relies on."""
    original = DistributedDataParallel._passing_sync_batchnorm_handle

    def passing_sync_batchnorm_handle(self, module):
        if self.device_type != 'cpu':
            original(self, module)

    DistributedDataParallel._passing_sync_batchnorm_handle = passing_sync_batchnorm_handle


allow_sync_bn_on_cpu()  # custom_imports runs this before the Runner wraps the model


def learner_of(runner):
    return runner.model.module if hasattr(runner.model, 'module') else runner.model


def mirrored_module(learner, k, aux_path):
    """The main-model module that the module at ``aux_path`` in aux net ``k`` mirrors, or None."""
    for path, source in learner.aux_nets[k].mirror_pairs():
        if aux_path == path or aux_path.startswith(path + '.'):
            rel = aux_path[len(path) + 1:]
            return learner.architecture.get_submodule(f'{source}.{rel}' if rel else source)
    return None


def _same_storage(a, b):
    return a is not None and b is not None and a.data_ptr() == b.data_ptr()


def _equal(a, b):
    return a is not None and b is not None and a.shape == b.shape and torch.equal(a, b)


@HOOKS.register_module()
class AuxBNProbe(Hook):
    """Writes ``work_dir/bn_probe_rank{r}.json``: one record per run of an auxiliary BN layer."""

    def __init__(self):
        self.records, self.handles = [], []

    def before_train(self, runner):
        learner = learner_of(runner)
        for k, aux in enumerate(learner.aux_nets):
            for path, m in aux.named_modules():
                if isinstance(m, _BatchNorm):
                    self.handles.append(m.register_forward_pre_hook(self._probe(learner, k, path)))

    def _probe(self, learner, k, path):
        def hook(bn, args):
            main = mirrored_module(learner, k, path)
            self.records.append(dict(
                aux=k, path=path, cls=type(bn).__name__, training=bn.training,
                main=None if main is None else type(main).__name__,
                weight_shared=main is not None and _same_storage(bn.weight, main.weight),
                bias_shared=main is not None and _same_storage(bn.bias, main.bias),
                stats_equal=main is not None and _equal(bn.running_mean, main.running_mean)
                and _equal(bn.running_var, main.running_var),
                weight_is_none=bn.weight is None))
        return hook

    def after_train(self, runner):
        for handle in self.handles:
            handle.remove()
        with open(osp.join(runner.work_dir, f'bn_probe_rank{runner.rank}.json'), 'w') as f:
            json.dump(self.records, f)


@HOOKS.register_module()
class DumpInitialParams(Hook):
    """Saves every rank's state dict before the first iteration (after init_weights), as ``initial_rank{r}.pth``."""

    def before_train(self, runner):
        state = learner_of(runner).state_dict()
        torch.save({k: v.detach().cpu().clone() for k, v in state.items()},
                   osp.join(runner.work_dir, f'initial_rank{runner.rank}.pth'))
