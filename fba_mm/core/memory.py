"""Memory of a training step: the total (:class:`TotalMemoryMeter`, what the GPU sees) and the activations
(:class:`ActivationMemoryMeter`, what autograd keeps alive for the backward pass; a secondary figure).

The activation meter counts, exactly and deterministically, the bytes of tensors saved for backward through
``torch.autograd.graph.saved_tensors_hooks``: each storage once (views share it), parameters skipped
(they are not activations), and released when autograd frees the saved tensor. It does not see what
non-reentrant checkpointing recomputes in the backward pass; the total meter does.
"""
import contextlib
import functools
import weakref
from typing import Dict, Iterable, Optional

import torch
import torch.nn as nn

from .split import module_name
from .step_observer import StepObserver

MiB = 1024**2


class _SavedTensor:
    """What autograd holds instead of the tensor; its death is the moment the activation is freed."""
    __slots__ = ('tensor', 'key', 'meter', '__weakref__')

    def __init__(self, tensor, key, meter):
        self.tensor, self.key, self.meter = tensor, key, meter

    def __del__(self):
        meter = self.meter()
        if meter is not None:
            meter._release(self.key)


class ActivationMemoryMeter:
    """Peak bytes of tensors saved for backward inside a ``with`` block.

    Example::

        meter = ActivationMemoryMeter(model)
        with meter:
            model.train_step(data, optim_wrapper)
        print(meter.peak_mib)

    Args:
        model: parameters of these modules are not counted (a saved weight is not an activation).
            Further modules can be given to :meth:`exclude`.
    """

    def __init__(self, model: Optional[nn.Module] = None) -> None:
        self._excluded = set()
        if model is not None:
            self.exclude(model)
        self._live: Dict[tuple, list] = {}  # key -> [refcount, nbytes]
        self.live_bytes = 0
        self.peak_bytes = 0
        self._hooks = None

    def exclude(self, modules: Iterable[nn.Module] | nn.Module) -> None:
        modules = [modules] if isinstance(modules, nn.Module) else modules
        for module in modules:
            for p in module.parameters():
                self._excluded.add(self._key(p))

    @staticmethod
    def _key(t: torch.Tensor) -> tuple:
        storage = t.untyped_storage()
        return (t.device.type, t.device.index, storage.data_ptr())

    def _pack(self, t: torch.Tensor):
        key = self._key(t)
        if isinstance(t, nn.Parameter) or key in self._excluded or t.untyped_storage().nbytes() == 0:
            return t
        entry = self._live.get(key)
        if entry is None:
            nbytes = t.untyped_storage().nbytes()
            self._live[key] = [1, nbytes]
            self.live_bytes += nbytes
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
        else:
            entry[0] += 1
        return _SavedTensor(t, key, weakref.ref(self))

    @staticmethod
    def _unpack(packed):
        return packed.tensor if isinstance(packed, _SavedTensor) else packed

    def _release(self, key) -> None:
        entry = self._live.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            del self._live[key]
            self.live_bytes -= entry[1]

    def reset(self) -> None:
        """Start a new peak from what is alive now."""
        self.peak_bytes = self.live_bytes

    def __enter__(self) -> 'ActivationMemoryMeter':
        self.reset()
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
        self._hooks = None

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MiB


# ---------------------------------------------------------------------------------------------- total memory
#: categories of :class:`TotalMemoryMeter`'s breakdown, in the order reports print them
CATEGORIES = ('params', 'buffers', 'grads', 'optimizer', 'activations', 'temporaries', 'other')


@functools.lru_cache(maxsize=None)
def _tracker_class():
    from torch.distributed._tools.mem_tracker import MemTracker  # imported when first needed: it is not light

    class _NoHook:
        def remove(self) -> None:
            pass

    class Tracker(MemTracker):
        """torch's MemTracker, plus what it lacks here: it registers a gradient hook on every parameter of a
        module that runs, and a parameter that needs no gradient (a frozen stage, an EMA copy, a tied weight)
        refuses hooks. Such parameters get none (they never receive gradients); a peak that restarts per window."""

        def _track_module_params_and_buffers(self, module, install_grad_hooks=True):
            for p in module.parameters():
                if not p.requires_grad and self._param_to_grad_hook_handles.get(p, None) is None:
                    self._param_to_grad_hook_handles[p] = (_NoHook(), _NoHook())
            return super()._track_module_params_and_buffers(module, install_grad_hooks)

        def restart_peak(self) -> None:
            self._peak_mem_snap = self.get_tracker_snapshot()
            self._peak_mem = {dev: snap['Total'] for dev, snap in self._peak_mem_snap.items()}

    return Tracker


_NAMES = dict(Parameter='params', Buffer='buffers', Gradient='grads', Optstate='optimizer', Activation='activations',
              Temp='temporaries', Other='other')


class TotalMemoryMeter:
    """Peak of every live tensor over a span, normally one whole training step: parameters, buffers,
    gradients, optimizer state, activations (checkpointing's recomputation included), temporaries and the
    feature bank. This is what ``torch.cuda.max_memory_allocated`` reports, and what a user compares.

    - CUDA: the peak of the caching allocator (``max_memory_allocated``) over the span, with nothing
      synchronised. With ``reset_peak=True`` (benchmarks) the peak statistic is reset on entry. In training the
      learner leaves it alone (``reset_peak=False``): mmengine's logger resets it after every log line (its
      ``memory``), and ``ModuleMemoryHook`` measures the first iteration after that, so the peak read at the
      end is that step's and mmengine's ``memory`` still covers its whole window. The breakdown holds the state
      parts only (computed from the tensors).
    - CPU: torch's dispatch-level tracker of live storages (``MemTracker``), exact and deterministic, with a
      breakdown by category at the peak. It does not see memory that a kernel allocates for itself
      (e.g. oneDNN's scratch buffers), as CUDA's counter would see cuDNN's workspace.

    Example::

        with TotalMemoryMeter(model, optim_wrapper) as meter:
            model.train_step(batch, optim_wrapper)
        print(meter.peak_mib, meter.breakdown_mib)   # {'params': ..., 'activations': ..., ...}

    Args:
        *tracked: modules, optimizers, optimizer wrappers (``OptimWrapperDict`` too) and tensors that exist before
            the span (created inside it, everything is tracked anyway).
        device (str): 'cuda' or 'cpu'; by default cuda when the first tracked module's parameters are there.
        reset_peak (bool): CUDA only: reset the allocator's peak statistic on entry.
    """

    def __init__(self, *tracked, device: Optional[str] = None, reset_peak: bool = True) -> None:
        self.reset_peak = reset_peak
        self._tracked = []
        for obj in tracked:
            is_wrapper = hasattr(obj, 'optimizer') or hasattr(obj, 'optim_wrappers')
            self._tracked += optimizers_of(obj) if is_wrapper and not isinstance(obj, nn.Module) else [obj]
        if device is None:
            params = [p for m in self._tracked if isinstance(m, nn.Module) for p in m.parameters()][:1]
            device = params[0].device.type if params else 'cpu'
        self.device = device
        self.peak_bytes = 0
        self.breakdown: Dict[str, int] = {}
        self._tracker = None
        self._window_peaks: list = []

    def __enter__(self) -> 'TotalMemoryMeter':
        if self.device == 'cuda':
            if self.reset_peak:
                torch.cuda.reset_peak_memory_stats()
        else:
            self._tracker = _tracker_class()()
            self._tracker.track_external(*self._tracked)
            self._tracker.__enter__()
        return self

    def window_peak(self) -> int:
        """Peak since the last call (or the start), and start a new window: per-module peaks within a step.
        CPU only (resetting the CUDA peak inside a step would falsify mmengine's ``memory``): -1 on CUDA."""
        if self._tracker is None:
            return -1
        peak = self._peak_of(self._tracker)
        self._window_peaks.append((peak, self._tracker.get_tracker_snapshot('peak')))
        self._tracker.restart_peak()
        return peak

    @staticmethod
    def _peak_of(tracker) -> int:
        return sum(snap['Total'] for snap in tracker.get_tracker_snapshot('peak').values())

    def __exit__(self, *exc) -> None:
        if self._tracker is None:
            self.peak_bytes = torch.cuda.max_memory_allocated()
            self.breakdown = state_breakdown(self._tracked)
            return
        tracker, self._tracker = self._tracker, None
        tracker.__exit__(*exc)
        self._window_peaks.append((self._peak_of(tracker), tracker.get_tracker_snapshot('peak')))
        self.peak_bytes, snapshot = max(self._window_peaks, key=lambda w: w[0])
        self.breakdown = {name: 0 for name in CATEGORIES}
        for dev_snap in snapshot.values():
            for key, nbytes in dev_snap.items():
                if key != 'Total':
                    self.breakdown[_NAMES[key.value]] += nbytes

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MiB

    @property
    def breakdown_mib(self) -> Dict[str, float]:
        return {k: v / MiB for k, v in self.breakdown.items()}


def optimizers_of(optim_wrapper) -> list:
    """The optimizers inside an ``OptimWrapper`` or an ``OptimWrapperDict`` (one per local module)."""
    wrappers = optim_wrapper.optim_wrappers.values() if hasattr(optim_wrapper, 'optim_wrappers') else [optim_wrapper]
    return [w.optimizer for w in wrappers]


def state_breakdown(tracked) -> Dict[str, int]:
    """Parameters, buffers, gradients (as they are now) and optimizer state of the given modules/optimizers."""
    modules = [m for m in tracked if isinstance(m, nn.Module)]
    optimizers = [o for o in tracked if isinstance(o, torch.optim.Optimizer)]
    nbytes = lambda ts: sum(t.untyped_storage().nbytes() for t in {t.untyped_storage().data_ptr(): t  # noqa: E731
                                                                       for t in ts}.values())
    params = [p for m in modules for p in m.parameters()]
    return dict(params=nbytes(params), buffers=nbytes(b for m in modules for b in m.buffers()),
                grads=nbytes(p.grad for p in params if p.grad is not None),
                optimizer=nbytes(v for o in optimizers for s in o.state.values() for v in s.values()
                                 if torch.is_tensor(v) and v.dim()))


class StepMemory(StepObserver):
    """The memory figures a learner's step logs while this observer is installed (``ModuleMemoryHook`` installs it
    now and then): the total of the whole step and its parts, per module its activations and (CPU) its total peak,
    and the feature bank's peak. On GPU the peak statistic is mmengine's (its logger resets it after every log
    line): it is read, never reset, inside training."""

    @contextlib.contextmanager
    def step(self, learner: nn.Module, optim_wrapper):
        self.total = TotalMemoryMeter(learner, optim_wrapper, reset_peak=False)
        self.activations = ActivationMemoryMeter(learner)
        self.vars: Dict[str, torch.Tensor] = {}
        bank = learner.feature_bank
        bank.measure = True
        try:
            with self.total, self.activations:
                yield
        finally:
            bank.measure = False
        self.vars['total_mib'] = torch.tensor(self.total.peak_mib)
        self.vars.update({f'total_mib.{part}': torch.tensor(mib) for part, mib in self.total.breakdown_mib.items()})
        self.vars['act_mib'] = max(v for k, v in self.vars.items() if k.endswith('.act_mib'))
        self.vars['bank_mib'] = torch.tensor(bank.peak_bytes / MiB)

    @contextlib.contextmanager
    def module(self, k: int):
        self.activations.reset()
        self.total.window_peak()  # the prefix's (or the previous module's) window ends here
        yield
        self.vars[f'{module_name(k)}.act_mib'] = torch.tensor(self.activations.peak_mib)
        module_total = self.total.window_peak()
        if module_total >= 0:
            self.vars[f'{module_name(k)}.total_mib'] = torch.tensor(module_total / MiB)

    def log_vars(self) -> Dict[str, torch.Tensor]:
        return self.vars
