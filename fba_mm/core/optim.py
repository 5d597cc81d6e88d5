"""One optimizer wrapper per local module, built from the user's stock ``optim_wrapper`` config."""
import copy
import logging
from typing import Dict, List

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS

from .aux_net import AuxNet
from .checkpoint import ARCH_PREFIX
from .errors import ConfigError
from .local_learner import LocalLearner
from .local_step import ParameterHolder
from .split import module_name


@OPTIM_WRAPPERS.register_module()
class LocalOptimWrapperDict(OptimWrapperDict):
    """``OptimWrapperDict`` whose iteration counters are restored on resume.

    Upstream ``initialize_count_status`` is a no-op, so gradient accumulation would restart its count
    after ``--resume``; here every module's wrapper gets it.
    """

    def initialize_count_status(self, model: nn.Module, cur_iter: int, max_iters: int) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.initialize_count_status(model, cur_iter, max_iters)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LocalOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Builds one ``OptimWrapper`` per local module (``m1``..``mK``) from a stock ``optim_wrapper`` config.

    Every module gets the same optimizer settings, wrapper type (``AmpOptimWrapper`` too), ``clip_grad``,
    ``accumulative_counts`` and ``paramwise_cfg`` (matched against full parameter names, so stock
    ``custom_keys`` such as ``'backbone'`` keep working; an auxiliary net's copies of main parts are matched by the
    names of the parts they copy, so ``'backbone'`` reaches the copied backbone blocks too).

    ``clip_grad`` clips each module separately: ``max_norm`` bounds the norm of each module's gradient, so the norm
    of the whole model's gradient can reach ``sqrt(K) * max_norm`` (end-to-end training bounds the whole). Each
    module's norm before clipping is logged as ``m{k}.grad_norm`` (``m{k}.grad_value`` for ``type='value'``).
    Modules are trained by different losses, so a per-module bound is the meaningful one; to match an end-to-end
    run's bound on the whole, divide ``max_norm`` by ``sqrt(K)``. A warning at start says so. Parameter schedulers in
    ``param_scheduler`` are applied to each module's optimizer. Parameters that need no gradient (an auxiliary net's
    frozen EMA copies) are left out: nothing here updates them.

    Example::

        optim_wrapper = dict(
            constructor='LocalOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        if 'optimizer' not in optim_wrapper_cfg:
            raise ConfigError(
                f'optim_wrapper has no "optimizer" key (it has {sorted(optim_wrapper_cfg)}): '
                'LocalOptimWrapperConstructor splits ONE stock optimizer config across the local modules. '
                "Write optim_wrapper=dict(constructor='LocalOptimWrapperConstructor', optimizer=dict(type='SGD', "
                'lr=...), ...), not a dict of per-module wrappers.')
        if optim_wrapper_cfg.get('type') in ('OptimWrapperDict', OptimWrapperDict):
            raise ConfigError("optim_wrapper.type='OptimWrapperDict' cannot be split per module: use "
                              "type='OptimWrapper' (or 'AmpOptimWrapper'); LocalOptimWrapperConstructor makes the "
                              'dict itself.')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> LocalOptimWrapperDict:
        if hasattr(model, 'module'):
            model = model.module
        if not isinstance(model, LocalLearner):
            raise ConfigError(
                f'optim_wrapper.constructor=LocalOptimWrapperConstructor needs a local-learning model, but the model '
                f'is {type(model).__name__}. Wrap the stock model: model=dict(type=..., architecture=<stock model>, '
                'split_points=[...]), or drop the constructor key for end-to-end training.')
        groups = model.local_module_paths()
        self._check_partition(model, groups)
        wrappers = {}
        for k, paths in enumerate(groups):
            wrappers[module_name(k)] = wrapper = self._build_one(model, paths)
            if hasattr(wrapper, 'grad_name'):  # set by clip_grad: log each module's norm under its own key
                wrapper.grad_name = f'{module_name(k)}.{wrapper.grad_name}'
        if self.optim_wrapper_cfg.get('clip_grad'):
            print_log(
                f'clip_grad={self.optim_wrapper_cfg["clip_grad"]} applies to each of the {len(groups)} local modules '
                f'separately: the norm of the whole gradient can reach sqrt({len(groups)}) x max_norm. Each module\'s '
                'norm is logged as m{k}.grad_norm; to bound the whole as end-to-end does, divide max_norm by '
                f'sqrt({len(groups)}).', logger='current', level=logging.WARNING)
        return LocalOptimWrapperDict(**wrappers)

    def _build_one(self, model: nn.Module, paths: List[str]):
        wrapper_cfg = copy.deepcopy(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = copy.deepcopy(self.optimizer_cfg)
        if self.paramwise_cfg:
            params: List[Dict] = []
            for path in paths:
                params += self._param_groups(model.part_at(path), path)
            params = [g for g in params if all(p.requires_grad for p in g['params'])]
        else:
            # one param group, in model order: the same optimizer state layout as stock training
            params = [p for path in paths for p in model.part_at(path).parameters() if p.requires_grad]
        optimizer_cfg['params'] = params
        optimizer = _build_optimizer(optimizer_cfg)
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))

    def _param_groups(self, module: nn.Module, path: str) -> List[Dict]:
        """``paramwise_cfg`` groups of ``module`` at ``path``. An auxiliary net's copies of main parts are matched by
        the names of the parts they copy, so that ``custom_keys`` such as ``'backbone'`` reach them as well."""
        groups: List[Dict] = []
        if isinstance(module, ParameterHolder):  # a bare parameter: named as in the model, for custom_keys
            path = path.rpartition('.')[0]
        self.add_params(groups, module, prefix=path)
        as_main: List[Dict] = []
        for rel, source in (module.mirror_pairs() if isinstance(module, AuxNet) else ()):
            self.add_params(as_main, module.get_submodule(rel), prefix=ARCH_PREFIX + source)
        renamed = {id(g['params'][0]): g for g in as_main}  # add_params makes one group per parameter
        return [renamed.get(id(g['params'][0]), g) for g in groups]

    @staticmethod
    def _check_partition(model: LocalLearner, groups: List[List[str]]) -> None:
        owner: Dict[int, str] = {}
        for k, paths in enumerate(groups):
            n_trainable = 0
            for path in paths:
                for p in model.part_at(path).parameters():
                    if id(p) in owner and owner[id(p)] != module_name(k):
                        raise ConfigError(f'a parameter of {path!r} is trained by both {owner[id(p)]} and '
                                          f'{module_name(k)}: local modules must not share parameters.')
                    owner[id(p)] = module_name(k)
                    n_trainable += p.requires_grad
            if n_trainable == 0:
                raise ConfigError(
                    f'local module {module_name(k)} ({paths}) has no trainable parameters, so its optimizer would '
                    'train nothing: move its split point after the frozen stages or lower frozen_stages.')
        orphans = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in owner]
        if orphans:
            raise ConfigError(
                f'{len(orphans)} trainable parameters belong to no local module and would never be updated, e.g. '
                f'{orphans[:3]}. They run in the gradient-free prefix: freeze them (frozen_stages) or start module 1 '
                'earlier.')


def _build_optimizer(optimizer_cfg: dict):
    from mmengine.registry import OPTIMIZERS
    try:
        return OPTIMIZERS.build(optimizer_cfg)
    except Exception as e:  # noqa: BLE001  (re-raised with the config named)
        raise ConfigError(f'optim_wrapper.optimizer={ {k: v for k, v in optimizer_cfg.items() if k != "params"} } '
                          f'could not be built for a local module: {e}') from e
