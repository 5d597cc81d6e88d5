"""Observers of a local-learning step: what watches :meth:`.LocalLearner.train_step` (memory, gradient isolation)
without the step knowing what it is watched for."""
import contextlib
from typing import Dict, List

import torch


class StepObserver:
    """Base of the observers of one training step. The learner enters :meth:`step` around the whole step
    (preprocessing included), :meth:`module` around module k's forward, backward and optimizer step, and calls
    :meth:`handover` once module k's output is detached for module k+1; after the step, :meth:`log_vars` joins the
    step's log variables. The base does nothing at each of them.

    A runner hook installs an observer for the iterations it watches and removes it after (``ModuleMemoryHook``,
    ``IsolationCheckHook``); by hand::

        with learner.observers.watching(IsolationGuard()):
            learner.train_step(data, optim_wrapper)
    """

    def step(self, learner, optim_wrapper):
        return contextlib.nullcontext()

    def module(self, k: int):
        return contextlib.nullcontext()

    def handover(self, k: int, output, bank) -> None:
        """Module ``k`` hands ``output`` (detached) and the feature ``bank`` to module k+1."""

    def log_vars(self) -> Dict[str, torch.Tensor]:
        return {}


class StepObservers(List[StepObserver]):
    """The observers a learner's step reports to, called in the order they were installed."""

    def install(self, observer: StepObserver) -> None:
        """Report the next steps to ``observer`` too (once, however often it is installed)."""
        if observer not in self:
            self.append(observer)

    def uninstall(self, observer: StepObserver) -> None:
        """Stop reporting to ``observer`` (nothing happens where it is not installed)."""
        if observer in self:
            self.remove(observer)

    @contextlib.contextmanager
    def watching(self, observer: StepObserver):
        """Install ``observer`` for the steps run inside this context."""
        self.install(observer)
        try:
            yield observer
        finally:
            self.uninstall(observer)

    @contextlib.contextmanager
    def step(self, learner, optim_wrapper):
        with contextlib.ExitStack() as stack:
            for observer in self:
                stack.enter_context(observer.step(learner, optim_wrapper))
            yield

    @contextlib.contextmanager
    def module(self, k: int):
        with contextlib.ExitStack() as stack:
            for observer in self:
                stack.enter_context(observer.module(k))
            yield

    def handover(self, k: int, output, bank) -> None:
        for observer in self:
            observer.handover(k, output, bank)

    def log_vars(self) -> Dict[str, torch.Tensor]:
        return {key: value for observer in self for key, value in observer.log_vars().items()}
