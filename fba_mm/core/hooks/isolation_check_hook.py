"""Gradient isolation, asserted on the first iterations of a run."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..isolation import IsolationGuard
from .local_learning_hook import learner_of


@HOOKS.register_module()
class IsolationCheckHook(Hook):
    """Asserts gradient isolation on the first ``iters`` iterations (:class:`~fba_mm.core.isolation.IsolationGuard`):
    while module k trains no gradient lands on a parameter outside module k, and what it hands on carries no graph.
    A leak stops training with a ``GradientLeakError`` that names the parameters. Worth adding whenever a new
    model, auxiliary net or adapter is tried; it costs a hook per parameter on those iterations and nothing after.

    Example::

        custom_hooks = [dict(type='IsolationCheckHook', iters=5)]
    """

    def __init__(self, iters: int = 5) -> None:
        self.iters = iters
        self.guard = IsolationGuard()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter < self.iters:
            learner_of(runner, type(self).__name__).observers.install(self.guard)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        learner_of(runner, type(self).__name__).observers.uninstall(self.guard)
