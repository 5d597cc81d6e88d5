"""Measure one model's training step: activation memory, state memory, seconds per iteration."""
import copy
import time
from typing import Dict

import torch
import torch.nn as nn

from .memory import ActivationMemoryMeter, MiB


def _sync():
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def state_bytes(model: nn.Module, optim_wrapper) -> Dict[str, int]:
    """Parameters, their gradients (one per trainable parameter, as during a step) and optimizer state."""
    params = list(model.parameters())
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    opt_state = 0
    for w in wrappers:
        for state in w.optimizer.state.values():
            opt_state += sum(v.numel() * v.element_size() for v in state.values() if torch.is_tensor(v) and v.dim())
    return dict(params=sum(p.numel() * p.element_size() for p in params),
                grads=sum(p.numel() * p.element_size() for p in params if p.requires_grad),
                optimizer=opt_state)


def measure_training(model: nn.Module, optim_wrapper, batch: dict, warmup: int = 2, iters: int = 3) -> Dict:
    """Train ``warmup`` steps, measure the activation peak of one step, then time ``iters`` steps (median: one
    slow step, a page-fault storm or another process, does not move it).

    The activation peak is the exact saved-for-backward bytes on CPU and the peak allocated CUDA memory above
    the steady state (parameters, gradients, optimizer state) on GPU.
    """
    model.train()
    for _ in range(warmup):
        model.train_step(copy.deepcopy(batch), optim_wrapper)
    local = hasattr(model, 'measure_memory')
    if local:
        # the learner measures itself, module by module (its meter would hide the spans from an outer one);
        # the iteration's peak is the largest module's, since each module's saved tensors die with its backward
        model.measure_memory = True
        log = model.train_step(copy.deepcopy(batch), optim_wrapper)
        model.measure_memory = False
        peak = float(log['act_mib']) * MiB
    else:
        with ActivationMemoryMeter(model) as meter:
            model.train_step(copy.deepcopy(batch), optim_wrapper)
        peak = meter.cuda_peak_bytes if meter.cuda_peak_bytes is not None else meter.peak_bytes
    times = []
    for _ in range(iters):
        b = copy.deepcopy(batch)
        _sync()
        start = time.perf_counter()
        model.train_step(b, optim_wrapper)
        _sync()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    state = state_bytes(model, optim_wrapper)
    out = dict(activation_mib=peak / MiB, sec_per_iter=seconds,
               state_mib=sum(state.values()) / MiB, params_mib=state['params'] / MiB,
               grads_mib=state['grads'] / MiB, optimizer_mib=state['optimizer'] / MiB)
    if local:
        out['module_activation_mib'] = {k[:-len('.act_mib')]: float(v) for k, v in log.items() if k.endswith('.act_mib')}
        out['bank_mib'] = float(log['bank_mib'])  # detached features held for later modules, not saved tensors
    return out
