"""Measure one model's training step: total memory (what the GPU sees), activation memory, seconds per iteration."""
import copy
import time
from typing import Dict

import torch
import torch.nn as nn

from .memory import ActivationMemoryMeter, MiB, TotalMemoryMeter, optimizers_of, state_breakdown


def _sync():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def state_bytes(model: nn.Module, optim_wrapper) -> Dict[str, int]:
    """Parameters, their gradients (one per trainable parameter, as during a step) and optimizer state."""
    state = state_breakdown([model] + optimizers_of(optim_wrapper))
    params = list(model.parameters())
    return dict(params=state['params'], grads=sum(p.numel() * p.element_size() for p in params if p.requires_grad),
                optimizer=state['optimizer'])


def optimizer_param_count(optim_wrapper) -> int:
    """How many parameter tensors the optimizers hold (0 extra for auxiliary nets without trained weights)."""
    return sum(len(g['params']) for o in optimizers_of(optim_wrapper) for g in o.param_groups)


def measure_training(model: nn.Module, optim_wrapper, batch: dict, warmup: int = 2, iters: int = 3) -> Dict:
    """Train ``warmup`` steps (so the optimizer state exists), measure the memory of one step, then time ``iters``
    steps (median: one slow step, a page-fault storm or another process, does not move it).

    ``total_mib`` is the peak of every live tensor over the measured step (:class:`TotalMemoryMeter`:
    ``max_memory_allocated`` on GPU, torch's tensor tracker on CPU) with its parts in ``total_parts_mib``;
    ``activation_mib`` the peak of bytes saved for backward (for a local learner: the largest module's).
    """
    model.train()
    for _ in range(warmup):
        model.train_step(copy.deepcopy(batch), optim_wrapper)
    local = hasattr(model, 'measure_memory')
    measured = copy.deepcopy(batch)
    _sync()
    if local:
        # the learner measures itself, module by module: the total over the step and each module's peaks
        model.measure_memory = True
        log = model.train_step(measured, optim_wrapper)
        model.measure_memory = False
        total = float(log['total_mib'])
        parts = {k[len('total_mib.'):]: float(v) for k, v in log.items() if k.startswith('total_mib.')}
        activation = float(log['act_mib'])
    else:
        with TotalMemoryMeter(model, optim_wrapper) as meter, ActivationMemoryMeter(model) as act:
            model.train_step(measured, optim_wrapper)
        total, parts, activation = meter.peak_mib, meter.breakdown_mib, act.peak_mib
    times = []
    for _ in range(iters):
        b = copy.deepcopy(batch)
        _sync()
        start = time.perf_counter()
        model.train_step(b, optim_wrapper)
        _sync()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2] if times else None
    state = state_bytes(model, optim_wrapper)
    out = dict(total_mib=total, total_parts_mib=parts, activation_mib=activation, sec_per_iter=seconds,
               state_mib=sum(state.values()) / MiB, params_mib=state['params'] / MiB,
               grads_mib=state['grads'] / MiB, optimizer_mib=state['optimizer'] / MiB,
               optimizer_params=optimizer_param_count(optim_wrapper))
    if local:
        out['module_activation_mib'] = {k[:-len('.act_mib')]: float(v)
                                        for k, v in log.items() if k.endswith('.act_mib')}
        out['module_total_mib'] = {k[:-len('.total_mib')]: float(v) for k, v in log.items() if k.endswith('.total_mib')}
        out['bank_mib'] = float(log['bank_mib'])  # detached features held for later modules (in the total)
    return out
