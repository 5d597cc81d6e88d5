"""Test-only components for the Runner tests, imported by their configs' ``custom_imports`` (tests/det on the
PYTHONPATH of the training process)."""
import json
import os.path as osp

from mmdet.models.detectors import TOOD
from mmdet.registry import HOOKS, MODELS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@MODELS.register_module()
class EpochSettableTOOD(TOOD):
    """The stock TOOD with the ``set_epoch`` that mmdet's ``SetEpochInfoHook`` calls: a project's detector that
    switches by epoch defines one (no mmdet 3.3 detector does). It records the epoch on its head."""

    def set_epoch(self, epoch: int) -> None:
        self.bbox_head.epoch_set = epoch


@HOOKS.register_module()
class HeadEpochProbe(Hook):
    """After every training iteration, one line in ``head_epochs.jsonl`` of the work dir: the runner's epoch and,
    for the real head and each auxiliary head (modules K, 1, .., K-1), the epoch it trained with (TOOD's ``epoch``,
    read from the message hub) and the one ``set_epoch`` gave it."""
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        heads = [model.architecture.bbox_head] + [aux.detector.bbox_head for aux in model.aux_nets]
        with open(osp.join(runner.work_dir, 'head_epochs.jsonl'), 'a') as f:
            f.write(json.dumps(dict(epoch=runner.epoch, trained=[h.epoch for h in heads],
                                    set=[getattr(h, 'epoch_set', None) for h in heads])) + '\n')
