"""The runner hook of local learning: set-up checks, memory logging, auxiliary-free checkpoints."""
import os.path as osp
from typing import Optional, Union

from mmengine.fileio import get_file_backend
from mmengine.hooks import CheckpointHook, Hook, LoggerHook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import save_checkpoint

from .checkpoint import stock_checkpoint, stock_path
from .ddp import LocalDistributedDataParallel
from .local_learner import LocalLearner
from .plots import plot_module_losses
from .split import ConfigError


@HOOKS.register_module()
class LocalLearningHook(Hook):
    """Checks a local-learning run before it starts, measures memory, and writes, beside every checkpoint the
    ``CheckpointHook`` saves, an auxiliary-free one that the stock config loads strictly (``iter_8.pth`` ->
    ``iter_8_stock.pth``, ``best_coco_bbox_mAP_iter_8.pth`` -> ``..._stock.pth``). The copies go where the
    checkpoints go (``out_dir``, ``backend_args``, through the hook's file backend), and when ``max_keep_ckpts`` or
    a new best removes a checkpoint, its copy is removed too.

    What it refuses (each would train nothing or train wrongly, silently): a model that is not a local
    learner; an optimizer wrapper that is not split per module; distributed training through a plain DDP
    (which calls ``forward(mode='loss')`` once and never runs the per-module steps).

    The per-module losses are logged as ``m1.loss_*`` .. ``mK.loss_*`` by the model itself. With
    ``log_memory=True``, every ``memory_interval`` iterations (on the first iteration of a logging window) one
    whole step is measured: ``total_mib``, the peak of every live tensor (on GPU ``max_memory_allocated``, read
    at the end of the first step after mmengine's logger reset it, so it is that step's peak; nothing is reset or
    synchronised, and mmengine's ``memory`` keeps covering its whole window; the other iterations are not
    touched at all), with its parts ``total_mib.params`` .. ``total_mib.temporaries`` (on GPU: the state parts);
    on CPU also each module's peak ``m{k}.total_mib``; the activation memory of each module (``m{k}.act_mib``,
    bytes saved for backward) and of the step (``act_mib``); and the feature bank (``bank_mib``).
    The default interval is the logger's on GPU, where measuring costs nothing, and ten logging windows on CPU:
    there torch's tracker runs Python on every tensor operation and makes the measured step 1.4x (EDSR) to 5x
    (Faster R-CNN, thousands of small operations) slower (``tools/analysis/benchmark_memory_logging.py``), which
    at the logger's interval made the detection demo's training 1.5-2x slower.
    With ``plot=True`` the per-module loss curves are saved as ``work_dir/module_losses.png`` after training.

    ``check_isolation=True`` (or a number of iterations; True means the first 5) asserts gradient isolation on
    the first iterations (:class:`~fba_mm.core.isolation.IsolationGuard`): while module k trains no gradient lands
    on a parameter outside module k, and what it hands on carries no graph. A leak stops training with a
    ``GradientLeakError`` that names the parameters. Worth turning on whenever a new model, auxiliary net or
    adapter is tried; it costs a hook per parameter on those iterations and nothing after.

    Example::

        custom_hooks = [dict(type='LocalLearningHook', log_memory=True, save_stock=True, check_isolation=True)]
    """

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW), so the checkpoint it saved exists

    def __init__(self, log_memory: bool = True, memory_interval: Optional[int] = None, save_stock: bool = True,
                 plot: bool = True, check_isolation: Union[bool, int] = False) -> None:
        self.plot = plot
        self.isolation_iters = 5 if check_isolation is True else int(check_isolation)
        self.log_memory = log_memory
        self.memory_interval = memory_interval
        self.save_stock = save_stock
        self._seen: dict = {}
        self._pending: list = []

    @staticmethod
    def _learner(runner) -> LocalLearner:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not isinstance(model, LocalLearner):
            raise ConfigError(f'LocalLearningHook is for local-learning models, but the model is '
                              f'{type(model).__name__}. Wrap the stock model in a local learner (model=dict(type=..., '
                              'architecture=..., split_points=...)) or remove the hook.')
        return model

    def _check_setup(self, runner) -> None:
        learner = self._learner(runner)
        learner.check_optim_wrapper(runner.optim_wrapper)
        if runner.distributed and not isinstance(runner.model, LocalDistributedDataParallel):
            raise ConfigError(
                f'distributed training wraps the model in {type(runner.model).__name__}, which runs one forward and '
                'one backward per iteration and would bypass the per-module steps. Set '
                "model_wrapper_cfg=dict(type='LocalDistributedDataParallel') in the config.")
        prefix = learner.prefix_blocks
        runner.logger.info(
            f'local learning: {learner.num_modules} modules, split_points={learner.split_points}, gradient-free '
            f'prefix: {f"{prefix[0]}..{prefix[-1]}" if prefix else "none"}, '
            f'feature bank {"on" if learner.feature_bank.enabled else "off"}')
        for k in range(learner.num_modules):
            blocks = learner.module_blocks(k)
            runner.logger.info(f'  m{k + 1}: blocks {blocks[0]}..{blocks[-1]} ({len(blocks)})')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        learner = self._learner(runner)
        if self.memory_interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.memory_interval = self.default_memory_interval(loggers[0].interval if loggers else 50, learner)
        learner.measure_memory = self.log_memory and runner.iter % self.memory_interval == 0
        learner.check_isolation = runner.iter < self.isolation_iters

    @staticmethod
    def default_memory_interval(logger_interval: int, learner: LocalLearner) -> int:
        """The logger's interval on GPU; ten of them on CPU, where the measured step is several times slower."""
        return logger_interval if next(learner.parameters()).is_cuda else 10 * logger_interval

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        stripped = (checkpoint.get('meta') or {}).get('fba_mm')
        if getattr(runner, '_resume', False) and stripped and 'optimizer' not in checkpoint:
            raise ConfigError(
                'this is an auxiliary-free checkpoint for the stock config (no auxiliary nets, optimizer state or '
                'message hub), so training cannot resume from it exactly. Resume from the full checkpoint beside it '
                '(iter_N.pth, not iter_N_stock.pth), or start a new run from its weights with load_from=... and no '
                '--resume (the auxiliary nets are then copied from the loaded weights).')

    # --- auxiliary-free checkpoints
    # CheckpointHook publishes where it saves (``last_ckpt``, ``best_ckpt[_<metric>]`` in the message hub) just
    # before calling runner.save_checkpoint, which calls before_save_checkpoint: the entry that changed since the
    # last save names this save's file. The stock copy is written once that file exists (after CheckpointHook's
    # own after_* call, this hook having the lowest priority), through CheckpointHook's file backend.
    def before_train(self, runner) -> None:
        self._check_setup(runner)
        self._seen = self._checkpoint_paths(runner)  # after resume: what earlier runs saved is not this run's
        self._pending = []

    @staticmethod
    def _checkpoint_paths(runner) -> dict:
        info = runner.message_hub.runtime_info
        return {k: v for k, v in info.items() if k == 'last_ckpt' or k == 'best_ckpt' or k.startswith('best_ckpt_')}

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.save_stock:
            return
        paths = self._checkpoint_paths(runner)
        changed = [p for key, p in paths.items() if self._seen.get(key) != p]
        self._seen = paths
        path = changed[0] if len(changed) == 1 else paths.get('last_ckpt')
        if path is not None:
            self._pending.append((path, checkpoint))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._write_stock(runner)

    def after_train_epoch(self, runner) -> None:
        self._write_stock(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._write_stock(runner)  # CheckpointHook(save_best=...) saves here

    def after_train(self, runner) -> None:
        self._write_stock(runner)
        if runner.rank == 0 and self.plot:
            path = plot_module_losses(runner.work_dir)
            if path:
                runner.logger.info(f'per-module loss curves: {path}')

    def _write_stock(self, runner) -> None:
        if not self.save_stock or not self._pending:
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
            runner.logger.info(f'auxiliary-free checkpoint for the stock config: {target}')
        # CheckpointHook(max_keep_ckpts=...) and a new best checkpoint remove older checkpoints: their twins go too
        folder = osp.dirname(pending[-1][0]) if pending else None
        for name in backend.list_dir_or_file(folder, list_dir=False, suffix='_stock.pth'):
            if not backend.isfile(backend.join_path(folder, name[:-len('_stock.pth')] + '.pth')):
                backend.remove(backend.join_path(folder, name))
