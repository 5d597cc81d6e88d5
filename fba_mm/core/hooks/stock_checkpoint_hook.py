"""Auxiliary-free twins of the checkpoints a run saves, which the stock config loads strictly."""

from mmengine.fileio import get_file_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import save_checkpoint

from ..checkpoint import stock_checkpoint, stock_path


@HOOKS.register_module()
class StockCheckpointHook(Hook):
    """Writes, beside every checkpoint the ``CheckpointHook`` saves, an auxiliary-free one that the stock config
    loads strictly (``iter_8.pth`` -> ``iter_8_stock.pth``, ``best_coco_bbox_mAP_iter_8.pth`` -> ``..._stock.pth``).
    The twins go where the checkpoints go (``out_dir``, ``backend_args``, through the ``CheckpointHook``'s file
    backend), and when ``max_keep_ckpts`` or a new best removes a checkpoint, its twin is removed too (only twins
    this hook wrote: a ``*_stock.pth`` put there by anyone else stays).

    How it knows which file a save wrote: ``CheckpointHook`` publishes where it saves (``last_ckpt``,
    ``best_ckpt[_<metric>]`` in the message hub) just before calling ``runner.save_checkpoint``, which calls
    :meth:`before_save_checkpoint`: the entry that changed since the last save names this save's file. The twin is
    written once that file exists, after ``CheckpointHook``'s own ``after_*`` call (this hook has the lowest
    priority).

    Example::

        default_hooks = dict(stock_checkpoint=dict(type='StockCheckpointHook'))
    """

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW), so the checkpoint it saved exists

    def __init__(self) -> None:
        self._seen: dict = {}
        self._pending: list = []
        self._written: set = set()

    def before_train(self, runner) -> None:
        self._seen = self._checkpoint_paths(runner)  # after resume: what earlier runs saved is not this run's
        self._pending = []

    @staticmethod
    def _checkpoint_paths(runner) -> dict:
        info = runner.message_hub.runtime_info
        return {k: v for k, v in info.items() if k == 'last_ckpt' or k == 'best_ckpt' or k.startswith('best_ckpt_')}

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        paths = self._checkpoint_paths(runner)
        changed = [p for key, p in paths.items() if self._seen.get(key) != p]
        self._seen = paths
        path = changed[0] if len(changed) == 1 else paths.get('last_ckpt')
        if path is not None:
            self._pending.append((path, checkpoint))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._write(runner)

    def after_train_epoch(self, runner) -> None:
        self._write(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._write(runner)  # CheckpointHook(save_best=...) saves here

    def after_train(self, runner) -> None:
        self._write(runner)

    def _write(self, runner) -> None:
        if not self._pending:
            return
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        backend = hooks[0].file_backend if hooks else get_file_backend(runner.work_dir)
        backend_args = hooks[0].backend_args if hooks else None
        pending, self._pending = self._pending, []
        if runner.rank != 0:
            return
        for path, checkpoint in pending:
            if not backend.isfile(path):
                continue  # not saved after all (or by a backend that stores directories)
            target = stock_path(path)
            save_checkpoint(stock_checkpoint(checkpoint), target, backend_args=backend_args)
            self._written.add(target)
            runner.logger.info(f'auxiliary-free checkpoint for the stock config: {target}')
        # CheckpointHook(max_keep_ckpts=...) and a new best checkpoint remove older checkpoints: their twins go too
        for target in sorted(self._written):
            source = target[:-len('_stock.pth')] + '.pth'
            if not backend.isfile(source) and backend.isfile(target):
                backend.remove(target)
                self._written.discard(target)
