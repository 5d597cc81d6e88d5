"""Gradient isolation, checked while training: what every local module hands on is detached, and no gradient of
module k's loss lands on a parameter of another module."""
import contextlib
from typing import Any

import torch
import torch.nn as nn
import torch.utils._pytree as pytree

from .split import module_name
from .step_observer import StepObserver


class GradientLeakError(RuntimeError):
    """A local module's loss reached another module's parameters, or a module handed on a tensor with its graph."""


def detach_output(output: Any) -> Any:
    """``output`` with every tensor in it detached: a tensor, or any structure of them (Swin's ``(x, hw_shape)``,
    a dict of multi-scale features)."""
    return pytree.tree_map(lambda t: t.detach() if isinstance(t, torch.Tensor) else t, output)


class IsolationGuard(StepObserver):
    """Asserts gradient isolation in every step it observes (``IsolationCheckHook`` installs it for the first
    iterations; the tests' isolation helper always).

    * around module k (its forward and backward): a hook on every trainable parameter *outside* module k fires if
      a gradient accumulates into it. That catches a leak into a later module (an auxiliary net that runs main
      weights without detaching them) and into an earlier one, whose parameters have already stepped and would
      keep the stray gradient unseen until its next step.
    * at the handover (after module k): nothing handed to module k+1 (its input, the feature bank) carries a
      graph. A missing detach otherwise shows up only as a backward "through the graph a second time" error, or
      not at all.
    """

    def step(self, learner: nn.Module, optim_wrapper):
        owner = {id(p): name for name, wrapper in optim_wrapper.items()
                 for group in wrapper.optimizer.param_groups for p in group['params']}
        self._named = [(n, p, owner.get(id(p))) for n, p in learner.named_parameters() if p.requires_grad]
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def module(self, k: int):
        name, leaks = module_name(k), []
        handles = [p.register_post_accumulate_grad_hook(lambda _, n=n: leaks.append(n))
                   for n, p, owner in self._named if owner != name]
        try:
            yield
        finally:
            for h in handles:
                h.remove()
        if leaks:
            owners = {n: o for n, _, o in self._named}
            raise GradientLeakError(
                f'gradient isolation broken: the loss of local module {name} reached {len(leaks)} parameters of other '
                f'modules, e.g. {[f"{n} ({owners[n]})" for n in leaks[:3]]}. Whatever module {name} runs of another '
                "module (an auxiliary net's mirror of a later block or head) must use detached weights or its own "
                'copies, and module outputs must be detached before the next module.')

    def handover(self, k: int, output: Any, bank) -> None:
        with_graph = [i for i, t in enumerate(pytree.tree_leaves(output))
                      if isinstance(t, torch.Tensor) and t.requires_grad]
        with_graph += [key for key, t in bank.for_head().items() if t.requires_grad]
        if with_graph:
            name = module_name(k)
            raise GradientLeakError(
                f'gradient isolation broken: local module {name} hands the next module tensors that still carry its '
                f'graph ({with_graph[:3]}); the next module\'s backward would run into module {name}. Detach what a '
                'module outputs (LocalLearner.detach_output) and push features to the bank with FeatureBank.push.')
