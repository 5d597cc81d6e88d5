"""The total memory meter: what max_memory_allocated would report, counted on CPU tensor by tensor."""
import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

from fba_mm.core import ActivationMemoryMeter, TotalMemoryMeter

N, C, H = 2, 16, 32
Y = N * C * H * H * 4          # the conv's output (float32)
X = N * 3 * H * H * 4          # its input
W = C * 3 * 3 * 3 * 4          # its weight
FROZEN = 3 * 3 * 4             # a frozen 1x1 conv in front (a stage with frozen_stages)
SCALARS = 2 * 4                # the loss and its gradient seed


def toy_step(conv, frozen, opt, with_cp):
    """One training step of a toy CNN: a frozen 1x1 conv, a trained 3x3 conv, ReLU, sum."""
    x = frozen(torch.ones(N, 3, H, H))
    f = lambda t: conv(t).relu()  # noqa: E731
    y = checkpoint(f, x, use_reentrant=False) if with_cp else f(x)
    y.sum().backward()
    opt.step()
    opt.zero_grad()


def test_total_memory_is_the_sum_of_the_tensors_alive_at_the_peak_and_counts_recomputation():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, C, 3, padding=1, bias=False)
    frozen = nn.Conv2d(3, 3, 1, bias=False).requires_grad_(False)  # MemTracker alone refuses these
    opt = torch.optim.SGD(conv.parameters(), lr=0.1, momentum=0.9)
    toy_step(conv, frozen, opt, False)  # warm-up: the momentum buffer exists from now on
    state = (W + FROZEN) + W            # parameters + momentum; gradients were freed by zero_grad

    with TotalMemoryMeter(conv, frozen, opt) as total, ActivationMemoryMeter(conv) as act:
        toy_step(conv, frozen, opt, False)
    # the peak is in the conv's backward: x (saved by the conv), y (saved by ReLU, held by the caller), dL/dy
    # and dL/dW being written
    assert total.peak_bytes == state + X + Y + Y + W + SCALARS
    assert total.breakdown['params'] == W + FROZEN and total.breakdown['optimizer'] == W
    assert sum(total.breakdown.values()) == total.peak_bytes
    assert act.peak_bytes == X + Y  # the saved-for-backward meter sees x and y only

    with TotalMemoryMeter(conv, frozen, opt) as total_cp, ActivationMemoryMeter(conv) as act_cp:
        toy_step(conv, frozen, opt, True)
    # non-reentrant checkpointing saves x alone, and in the backward recomputes y next to the one the caller
    # holds: the peak is x + y + recomputed y + dL/dy. The saved-tensor meter misses the recomputation.
    assert total_cp.peak_bytes == state + X + 3 * Y + SCALARS
    assert act_cp.peak_bytes == X


def test_window_peaks_split_a_step_and_the_step_peak_is_their_maximum():
    meter = TotalMemoryMeter()
    with meter:
        a = torch.empty(1000)          # 4000 B
        first = meter.window_peak()
        del a
        b = torch.empty(500)           # 2000 B
        second = meter.window_peak()
        del b
    assert (first, second) == (4000, 4000)  # the second window starts with a still alive
    assert meter.peak_bytes == 4000
