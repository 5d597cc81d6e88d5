"""Measure one model's training step: total memory (what the GPU sees), activation memory, FLOPs (forward and
backward, by module and part), seconds per iteration; and each task's benchmark recipe (:class:`BenchmarkRecipe`),
the models and the batch the benchmarks measure."""
import copy
import re
import time
from collections import defaultdict
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.registry import Registry
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from .errors import ConfigError
from .local_learner import LocalLearner
from .memory import ActivationMemoryMeter, MiB, StepMemory, TotalMemoryMeter, optimizers_of, state_breakdown
from .split import module_name

#: (pattern on a module path, part) pairs that name the parts of a task's model in the FLOP breakdown; a task's
#: benchmark recipe gives its own (:attr:`BenchmarkRecipe.flop_parts`), the first match wins
PartRules = Sequence[Tuple[str, str]]

#: each task's :class:`BenchmarkRecipe`, registered by its adapter under its configs' ``default_scope``
BENCHMARK_RECIPES = Registry('fba_mm benchmark recipe', scope='fba_mm')


class BenchmarkRecipe:
    r"""What the benchmarks (``tools/analysis/benchmark_memory.py``, ``compare.py``, ``flops_per_step.py``) need of
    one task: a random batch that fits a model, the model with activation checkpointing, end to end and with FBA,
    and the parts of its FLOP breakdown. A task adapter registers one under its configs' ``default_scope``, and a
    tool looks it up by a config's scope::

        @BENCHMARK_RECIPES.register_module(name='mmdet')
        class DetBenchmarkRecipe(BenchmarkRecipe):
            one_module_learner = dict(type='LocalLearningDetector', split_points=[])
            flop_parts = ((r'(^|\.)backbone\.', 'blocks'), ...)

            def batch(self, architecture_cfg, batch_size, height, width): ...

        recipe = benchmark_recipe(cfg.default_scope)
        model_cfg, is_local_learner = recipe.end_to_end_checkpointed(cfg.model.architecture)
    """

    #: the task's local learner with one module (``type`` and ``split_points``; K=1 trains exactly as stock training
    #: does), which checkpoints a trunk whose stock model cannot checkpoint itself
    one_module_learner: dict = {}
    #: the parts of the task's models in the FLOP breakdown (:func:`count_flops`): (pattern on a module path, part),
    #: the first match wins
    flop_parts: PartRules = ()

    def batch(self, architecture_cfg: dict, batch_size: int, height: int, width: int) -> dict:
        """A random data batch of ``batch_size`` ``height x width`` inputs that fits the stock model
        ``architecture_cfg`` (its classes, its upscale factor, ...), as its data_preprocessor expects it."""
        raise NotImplementedError

    def own_checkpointing(self, architecture_cfg: dict) -> Optional[dict]:
        """A copy of ``architecture_cfg`` with the stock model's own activation checkpointing of its whole trunk
        switched on (a backbone's ``with_cp``), or None where it has none: then the learner checkpoints the trunk
        (``with_cp=True``)."""
        return None

    def end_to_end_checkpointed(self, architecture_cfg: dict) -> Tuple[dict, bool]:
        """The stock model trained end to end with activation checkpointing of every block of its trunk: ``(model
        config, is_local_learner)``; the stock model's own checkpointing where it has it, else the one-module learner
        with ``with_cp=True``."""
        own = self.own_checkpointing(architecture_cfg)
        if own is not None:
            return own, False
        return dict(copy.deepcopy(self.one_module_learner), architecture=copy.deepcopy(architecture_cfg),
                    with_cp=True), True

    def fba_checkpointed(self, fba_cfg: dict) -> dict:
        """The FBA model ``fba_cfg`` with activation checkpointing in its trunk's blocks (as
        :meth:`end_to_end_checkpointed` checkpoints them) and in its auxiliary nets' blocks."""
        cfg = copy.deepcopy(fba_cfg)
        own = self.own_checkpointing(cfg.architecture)
        if own is not None:
            cfg.architecture = own
        else:
            cfg.with_cp = True
        cfg.aux_net = dict(cfg.get('aux_net', {}), with_cp=True)
        return cfg


def benchmark_recipe(scope: str) -> BenchmarkRecipe:
    """The benchmark recipe of configs whose ``default_scope`` is ``scope`` (``'mmdet'``, ``'mmagic'``), registered
    when the config's ``custom_imports`` import the task adapter (``fba_mm.det``, ``fba_mm.sr``)."""
    recipe = BENCHMARK_RECIPES.get(scope)
    if recipe is None:
        raise ConfigError(f'no benchmark recipe for default_scope={scope!r}; registered: '
                          f'{sorted(BENCHMARK_RECIPES.module_dict)}. Import the task adapter that registers it '
                          "(custom_imports=dict(imports=['fba_mm.det']) or ['fba_mm.sr']).")
    return recipe()


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
    local = isinstance(model, LocalLearner)
    measured = copy.deepcopy(batch)
    _sync()
    if local:
        # the learner measures itself, module by module: the total over the step and each module's peaks
        with model.observers.watching(StepMemory()):
            log = model.train_step(measured, optim_wrapper)
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
    if isinstance(model, LocalLearner):
        out['gflops_by_module'] = {m: dict(p) for m, p in by_module.items()}
    return out


def _owner_of(model: nn.Module, part_rules: PartRules) -> Callable[[str], Tuple[str, str]]:
    """path -> (local module, part) for the layers of ``model``."""
    rules = [(re.compile(pattern), part) for pattern, part in part_rules]
    trunk: Dict[str, str] = {}  # a trunk block's path -> its module
    modules: Sequence[Tuple[str, str]] = []  # (path, module) of every part a local module trains
    if isinstance(model, LocalLearner):
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
