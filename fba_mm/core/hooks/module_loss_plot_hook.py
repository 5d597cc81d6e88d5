"""The per-module loss curves of a run, as a picture."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..plots import plot_module_losses


@HOOKS.register_module()
class ModuleLossPlotHook(Hook):
    """After training, rank 0 plots every module's loss (``m1.loss`` .. ``mK.loss``, from ``vis_data/scalars.json``)
    against iterations as ``work_dir/module_losses.png``.

    Example::

        default_hooks = dict(module_loss_plot=dict(type='ModuleLossPlotHook'))
    """

    def after_train(self, runner) -> None:
        if runner.rank == 0:
            path = plot_module_losses(runner.work_dir)
            if path:
                runner.logger.info(f'per-module loss curves: {path}')
