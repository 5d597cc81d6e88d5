"""What a local module does when its loss is not finite: it skips that iteration, the others go on, and a module
that stays stuck stops training."""
import logging
from typing import Dict, List

import torch
from mmengine.logging import print_log

from .errors import ConfigError
from .split import module_name


class SkipPolicy:
    """Per-module skips of non-finite losses, and the patience after which training stops.

    A module whose loss is not finite skips the iteration: no backward, no step (its wrapper's count still
    advances, so accumulation windows and schedules stay aligned with the other modules; a window that ends on a
    skip drops its accumulated gradients). The other modules go on. Once any module has skipped
    ``max_consecutive_skips`` iterations in a row, :meth:`check` raises: a module that does not train leaves the
    final network with untrained layers (the last module: an untrained task head), which no run should end with.
    Under DDP the ranks decide together (one all-reduce), so one rank's NaN skips the module on every rank.

    Args:
        num_modules (int): K.
        max_consecutive_skips (int): the patience, at least 1.
    """

    def __init__(self, num_modules: int, max_consecutive_skips: int = 10) -> None:
        if max_consecutive_skips < 1:
            raise ConfigError(f'max_consecutive_skips={max_consecutive_skips}: need at least 1')
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped: List[int] = [0] * num_modules
        self.in_a_row: List[int] = [0] * num_modules

    @staticmethod
    def all_ranks_finite(loss: torch.Tensor) -> bool:
        """Whether the loss is finite on every rank. One host sync per module (and one all-reduce under DDP)."""
        bad = (~torch.isfinite(loss.detach())).any().float().reshape(1)
        if torch.distributed.is_available() and torch.distributed.is_initialized() and \
                torch.distributed.get_world_size() > 1:
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        return not bad.item()

    def update_params(self, k: int, wrapper, loss: torch.Tensor) -> bool:
        """Module ``k``'s ``wrapper.update_params(loss)`` when its loss is finite on every rank, else a skip (its
        wrapper's count advances without a step). Returns whether the wrapper's optimizer stepped (not inside an
        accumulation window, not on a skip)."""
        finite = self.all_ranks_finite(loss)
        if finite:
            wrapper.update_params(loss)
        else:
            self.skip(k, wrapper)
        self.in_a_row[k] = 0 if finite else self.in_a_row[k] + 1
        return finite and wrapper.should_update()

    def skip(self, k: int, wrapper) -> None:
        self.skipped[k] += 1
        # mmengine advances a wrapper's count only in backward(), which a non-finite loss must not run, and its one
        # public setter (initialize_count_status) also resets max_counts and re-checks the model; so the count is
        # advanced here, as OptimWrapper.backward itself does
        wrapper._inner_count += 1
        if wrapper.should_update():
            wrapper.zero_grad()
        print_log(f'{module_name(k)}: the local loss is not finite, so this module skipped the iteration '
                  f'({self.skipped[k]} skipped so far, {self.in_a_row[k] + 1} in a row); the other modules go on.',
                  logger='current', level=logging.WARNING)

    def log_vars(self) -> Dict[str, torch.Tensor]:
        """``m{k}.skipped``: whether module k skipped this iteration."""
        return {f'{module_name(k)}.skipped': torch.tensor(float(n > 0)) for k, n in enumerate(self.in_a_row)}

    def check(self) -> None:
        """Stop training once a module has skipped ``max_consecutive_skips`` iterations in a row."""
        n = self.max_consecutive_skips
        stuck = [module_name(k) for k, s in enumerate(self.in_a_row) if s >= n]
        if stuck:
            last = module_name(len(self.in_a_row) - 1)
            what = 'the real task loss (the last module, with the stock head)' if stuck == [last] else \
                f'the loss of {", ".join(stuck)}'
            raise FloatingPointError(
                f'{what} has been non-finite for {n} iterations in a row, so {", ".join(stuck)} '
                f'{"has" if len(stuck) == 1 else "have"} not trained since '
                f'(skipped per module: {dict(zip(map(module_name, range(len(self.skipped))), self.skipped))}). '
                'Training has diverged: lower the learning rate, add warm-up or clip_grad, or check the data; '
                'max_consecutive_skips in the model config sets the patience.')
