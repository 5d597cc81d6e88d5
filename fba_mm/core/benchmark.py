"""Measure one model's training step: total memory (what the GPU sees), activation memory, FLOPs (forward and
backward, by module and part), seconds per iteration."""
import copy
import re
import time
from collections import defaultdict
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from .memory import ActivationMemoryMeter, MiB, TotalMemoryMeter, optimizers_of, state_breakdown

#: (pattern on a module path, part) pairs that name the parts of a task's model in the FLOP breakdown; a task's
#: benchmark recipe (``fba_mm.det.testing.FLOP_PARTS``) gives its own, the first match wins
PartRules = Sequence[Tuple[str, str]]


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


def measure_training(model: nn.Module, optim_wrapper, batch: dict, warmup: int = 2, iters: int = 3,
                     part_rules: Optional[PartRules] = None) -> Dict:
    """Train ``warmup`` steps (so the optimizer state exists), measure the memory of one step, count the FLOPs of
    the next (:func:`count_flops`, unless ``part_rules`` is None), then time ``iters`` steps (median: one slow step,
    a page-fault storm or another process, does not move it).

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
    flops = count_flops(model, optim_wrapper, batch, part_rules) if part_rules is not None else {}
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
               optimizer_params=optimizer_param_count(optim_wrapper), **flops)
    if local:
        out['module_activation_mib'] = {k[:-len('.act_mib')]: float(v)
                                        for k, v in log.items() if k.endswith('.act_mib')}
        out['module_total_mib'] = {k[:-len('.total_mib')]: float(v) for k, v in log.items() if k.endswith('.total_mib')}
        out['bank_mib'] = float(log['bank_mib'])  # detached features held for later modules (in the total)
    return out


class _FlopsByLayer(TorchDispatchMode):
    """Counts what torch's ``FlopCounterMode`` counts (its ``flop_registry``), op by op, for the layer that ran the
    op: in a forward (checkpointing's recomputation included), the innermost layer of ``names`` running; in the
    backward, the layer whose forward made the autograd node being executed (each layer tags the nodes of its
    forward when it returns). torch's own module tracker cannot tell this in the backward: a layer whose inputs
    need no gradient (a RoI extractor, a frozen stem) stays on its stack for the rest of the backward."""

    def __init__(self, names: Dict[int, str]) -> None:
        super().__init__()
        self.names = names
        self.stack: list = []
        self.flops: Dict[Optional[str], int] = defaultdict(int)

    def __enter__(self):
        def enter(module, args):
            self.stack.append(self.names.get(id(module)))

        def leave(module, args, output):
            name = self.stack.pop()
            if name is not None:
                _tag(output, name)
        self._hooks = (nn.modules.module.register_module_forward_pre_hook(enter),
                       nn.modules.module.register_module_forward_hook(leave, always_call=True))
        return super().__enter__()

    def __exit__(self, *exc):
        for hook in self._hooks:
            hook.remove()
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            owner = next((name for name in reversed(self.stack) if name is not None), None)
            if owner is None:
                node = torch._C._current_autograd_node()
                owner = node.metadata.get('fba_layer') if node is not None else None
            self.flops[owner] += count(*args, **kwargs, out_val=out)
        return out


def _tag(output, name: str) -> None:
    """Mark the autograd nodes that made ``output`` (back to the first already marked) as ``name``'s."""
    todo = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None]
    while todo:
        node = todo.pop()
        if node is None or 'fba_layer' in node.metadata:
            continue
        node.metadata['fba_layer'] = name
        todo.extend(next_node for next_node, _ in node.next_functions)


def _tensors(output):
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, (list, tuple)):
        for o in output:
            yield from _tensors(o)
    elif isinstance(output, dict):
        for o in output.values():
            yield from _tensors(o)


def count_flops(model: nn.Module, optim_wrapper, batch: dict, part_rules: PartRules = ()) -> Dict:
    """FLOPs of one training step, forward and backward (``torch.utils.flop_counter.FlopCounterMode``: the aten
    matmul and convolution ops, also those of checkpointing's recomputation; compiled ops such as mmcv's RoIAlign
    and NMS count zero), in total and by part: ``gflops``, ``gflops_by_part`` (part -> GFLOPs) and, for a local
    learner, ``gflops_by_module`` (``m{k}`` -> part -> GFLOPs; ``'prefix'`` for the frozen prefix).

    A layer's part: for a local learner, ``'own blocks'`` where it is one of module k's trunk blocks, else the first
    of ``part_rules`` whose pattern matches its path (``re.search``), else ``'other'``. FLOPs that no layer of the
    model ran are ``'outside layers'``."""
    names = {id(m): name for name, m in model.named_modules() if name}
    with FlopCounterMode(display=False) as counter, _FlopsByLayer(names) as by_layer:
        model.train_step(copy.deepcopy(batch), optim_wrapper)
    total = counter.get_total_flops()
    owner = _owner_of(model, part_rules)
    by_module: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for path, flops in by_layer.flops.items():
        module, part = owner(path) if path is not None else ('-', 'outside layers')
        by_module[module][part] += flops / 1e9
    by_part: Dict[str, float] = defaultdict(float)
    for parts in by_module.values():
        for part, g in parts.items():
            by_part[part] += g
    out = dict(gflops=total / 1e9, gflops_by_part=dict(by_part))
    if hasattr(model, 'local_module_paths'):
        out['gflops_by_module'] = {m: dict(p) for m, p in by_module.items()}
    return out


def _owner_of(model: nn.Module, part_rules: PartRules) -> Callable[[str], Tuple[str, str]]:
    """path -> (local module, part) for the layers of ``model``."""
    rules = [(re.compile(pattern), part) for pattern, part in part_rules]
    trunk: Dict[str, str] = {}  # a trunk block's path -> its module
    modules: Sequence[Tuple[str, str]] = []  # (path, module) of every part a local module trains
    if hasattr(model, 'local_module_paths'):
        from .split import module_name
        heads = set(model.head_paths())
        for k, paths in enumerate(model.local_module_paths()):
            aux = set(model.aux_paths(k)) if k < model.num_modules - 1 else set()
            for path in paths:
                if path not in aux and path not in heads:
                    trunk[path] = module_name(k)
            modules = [*modules, *((p, module_name(k)) for p in paths)]

    def within(path: str, root: str) -> bool:
        return path == root or path.startswith(root + '.')

    def owner(path: str) -> Tuple[str, str]:
        for root, module in trunk.items():
            if within(path, root):
                return module, 'own blocks'
        module = next((m for root, m in modules if within(path, root)), 'prefix' if trunk else '-')
        part = next((part for pattern, part in rules if pattern.search(path)), 'other')
        return module, part

    return owner
