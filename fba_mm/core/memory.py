"""Activation memory: what autograd keeps alive for the backward pass.

On CPU the meter counts, exactly and deterministically, the bytes of tensors saved for backward through
``torch.autograd.graph.saved_tensors_hooks``: each storage once (views share it), parameters skipped
(they are not activations), and released when autograd frees the saved tensor. On CUDA it also reports
the peak allocated memory of the device over the same span.
"""
import weakref
from typing import Dict, Iterable, Optional

import torch
import torch.nn as nn

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
        print(meter.peak_mib, meter.cuda_peak_mib)

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
        self.cuda_peak_bytes: Optional[int] = None
        self._hooks = None
        self._cuda_base = 0

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
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.reset_peak_memory_stats()
            self._cuda_base = torch.cuda.memory_allocated()

    def __enter__(self) -> 'ActivationMemoryMeter':
        self.reset()
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
        self._hooks = None
        self.read_cuda_peak()

    def read_cuda_peak(self) -> Optional[int]:
        """CUDA peak allocated bytes above what was allocated at the last :meth:`reset` (None without CUDA)."""
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
            self.cuda_peak_bytes = torch.cuda.max_memory_allocated() - self._cuda_base
        return self.cuda_peak_bytes

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MiB

    @property
    def cuda_peak_mib(self) -> Optional[float]:
        return None if self.cuda_peak_bytes is None else self.cuda_peak_bytes / MiB

