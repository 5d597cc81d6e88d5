"""Small functions every task adapter uses alike: activation checkpointing of one call, the local loss's weight."""
from typing import Callable, Dict

import torch
from torch.utils.checkpoint import checkpoint


def maybe_checkpoint(fn: Callable, *args, enabled: bool, **kwargs):
    """``fn(*args, **kwargs)``, under activation checkpointing (``torch.utils.checkpoint``, non-reentrant) when
    ``enabled`` (a component's ``with_cp``): its activations are recomputed in the backward instead of kept.

    Example (a layout running one block)::

        def run_block(self, block, state, with_cp=False):
            return maybe_checkpoint(block, state, enabled=with_cp)
    """
    # grad mode, not the input's requires_grad (mmdet's reentrant-era test): without grad nothing is kept for the
    # backward, and non-reentrant checkpointing is right for a block whose input is detached (a module's first one)
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False, **kwargs)
    return fn(*args, **kwargs)


def scale_losses(losses: Dict, weight: float) -> Dict:
    """``losses`` with every entry whose key contains ``'loss'`` multiplied by ``weight`` (a tensor, or a list of
    tensors as mmdet's heads return one per stage or level); other entries (accuracies) are kept. ``weight`` 1.0
    returns ``losses`` itself.

    Example (an auxiliary net's ``loss_weight``)::

        return scale_losses(self.detector.loss(feats, data_samples), self.loss_weight)
    """
    if weight == 1.0:
        return losses
    return {k: ([v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight)
            if 'loss' in k else value for k, value in losses.items()}
