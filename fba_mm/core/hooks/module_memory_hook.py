"""Memory of a local-learning run, measured now and then and logged."""
from typing import Optional

from mmengine.hooks import Hook, LoggerHook
from mmengine.registry import HOOKS

from ..memory import StepMemory
from .local_learning_hook import learner_of


@HOOKS.register_module()
class ModuleMemoryHook(Hook):
    """Every ``interval`` iterations (on the first iteration of a logging window) one whole step is measured:
    ``total_mib``, the peak of every live tensor (on GPU ``max_memory_allocated``, read at the end of the first
    step after mmengine's logger reset it, so it is that step's peak; nothing is reset or synchronised, and
    mmengine's ``memory`` keeps covering its whole window; the other iterations are not touched at all), with its
    parts ``total_mib.params`` .. ``total_mib.temporaries`` (on GPU: the state parts); on CPU also each module's
    peak ``m{k}.total_mib``; the activation memory of each module (``m{k}.act_mib``, bytes saved for backward) and
    of the step (``act_mib``); and the feature bank (``bank_mib``).

    The default interval is the logger's on GPU, where measuring costs nothing, and ten logging windows on CPU:
    there torch's tracker runs Python on every tensor operation, so the measured step is several times slower, the
    more so the more small operations a model runs (a detector more than an SR net), and measuring at the logger's
    interval would slow the whole training down (``tools/analysis/benchmark_memory_logging.py``; the figures are in
    docs/benchmarks.md, "The baselines").

    Example::

        default_hooks = dict(module_memory=dict(type='ModuleMemoryHook', interval=100))
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        self.interval = interval
        self.memory = StepMemory()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        learner = learner_of(runner, type(self).__name__)
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = self.default_interval(loggers[0].interval if loggers else 50, learner)
        if runner.iter % self.interval == 0:
            learner.observers.install(self.memory)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        learner_of(runner, type(self).__name__).observers.uninstall(self.memory)

    @staticmethod
    def default_interval(logger_interval: int, learner) -> int:
        """The logger's interval on GPU; ten of them on CPU, where the measured step is several times slower."""
        return logger_interval if next(learner.parameters()).is_cuda else 10 * logger_interval
