import contextlib
from typing import Any, Callable, Dict, Hashable

import torch


class FeatureBank:
    """Detached features of earlier local modules, kept for one training iteration.

    Local module ``k`` pushes what later parts of the network need (an FPN's C2..C5, an SR net's shallow
    feature for the global skip); auxiliary net ``j > k`` and the real task head read them. Everything is
    stored detached, so nothing read from the bank carries a gradient back into an earlier module, and
    the bank is emptied after every iteration.

    ``enabled=False`` is the ablation "no feature bank": auxiliary nets then see only the live feature
    (:meth:`for_aux` returns nothing). The real task head still gets the earlier features it is built on
    (a stock FPN cannot run without C2..C4), so the final module always reads them with ``bank[key]``.

    Example (in a task adapter)::

        bank.push('layer2', c3)                 # stored as c3.detach()
        aux_inputs = bank.for_aux()             # {} when the bank is switched off
        c3 = bank['layer2']                     # the real head always gets it
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._features: Dict[str, torch.Tensor] = {}
        self._derived: Dict[Hashable, Any] = {}
        # bytes are counted only while a step is measured (``measure``, set by the StepMemory observer)
        self.measure = False
        self.peak_bytes = 0

    def push(self, key: str, feature: torch.Tensor) -> None:
        if key in self._features:
            raise KeyError(f'FeatureBank: {key!r} was pushed twice in one iteration; keys name one feature each')
        self._features[key] = feature.detach()
        if self.measure:
            self.peak_bytes = max(self.peak_bytes, self.nbytes())

    def __getitem__(self, key: str) -> torch.Tensor:
        try:
            return self._features[key]
        except KeyError:
            raise KeyError(f'FeatureBank has no {key!r} this iteration; it holds {list(self._features)}') from None

    def for_aux(self) -> Dict[str, torch.Tensor]:
        """What an auxiliary net may read: everything pushed so far, or nothing when the bank is off."""
        return dict(self._features) if self.enabled else {}

    def for_head(self) -> Dict[str, torch.Tensor]:
        """What the real task head reads: everything pushed so far, bank on or off."""
        return dict(self._features)

    def nbytes(self) -> int:
        """Bytes held now (each storage counted once: views of one tensor cost nothing extra)."""
        seen, total = set(), 0
        for t in self._features.values():
            storage = t.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        return total

    def derived(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per iteration for every auxiliary net that asks for ``key``: what they derive
        alike from the bank or the batch (a bank feature pooled for half-resolution aux nets, the rescaled targets).
        Kept until :meth:`clear`, so only for what carries no graph."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    @contextlib.contextmanager
    def in_step(self):
        """The bank of one training step: empty when it starts, emptied when it ends (also on an error)."""
        self.clear()
        try:
            yield self
        finally:
            self.clear()

    def clear(self) -> None:
        """Empty the bank (after every iteration) and restart its peak."""
        self._features.clear()
        self._derived.clear()
        self.peak_bytes = 0

    def __repr__(self) -> str:
        return f'FeatureBank(enabled={self.enabled}, keys={list(self._features)})'
