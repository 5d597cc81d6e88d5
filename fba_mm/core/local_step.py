"""A local module as one ``nn.Module``: what one optimizer wrapper and one DDP wrapper hold."""
from typing import Sequence

import torch.nn as nn


class LocalStep(nn.Module):
    """One local module with everything that trains it (its blocks plus its auxiliary net, or plus the real
    task head for the last module), as one ``nn.Module`` so that a DDP can wrap exactly these parameters.

    It is kept outside the learner's module tree (checkpoint keys stay the architecture's own) and calls
    back into the learner, which owns the forward logic.
    """

    def __init__(self, learner: nn.Module, k: int, parts: Sequence[nn.Module]) -> None:
        super().__init__()
        self.parts = nn.ModuleList(parts)
        self.k = k
        object.__setattr__(self, '_learner', learner)  # a back-reference, not a submodule

    def forward(self, feature, data_samples):
        return self._learner.forward_local(self.k, feature, data_samples)


class ParameterHolder(nn.Module):
    """A bare parameter of a model (DINO's ``level_embed``, which sits on the detector itself) as a module of its
    own, so that a local module's optimizer and DDP hold it like any of its parts. It holds the same parameter."""

    def __init__(self, name: str, param: nn.Parameter) -> None:
        super().__init__()
        self.register_parameter(name, param)
