"""Distributed data parallel for local learning: one DDP per local module."""
from typing import List

import torch.nn as nn
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

from .local_learner import LocalLearner


@MODEL_WRAPPERS.register_module()
class LocalDistributedDataParallel(nn.Module):
    """Data parallel training of a :class:`LocalLearner`.

    A single DDP over the whole model does not fit local learning: it expects one forward and one backward
    per iteration, and local learning runs K. Here each local module (its blocks plus what trains it) gets
    its own ``DistributedDataParallel``, so every DDP sees exactly one forward and one backward per
    iteration. The DDPs are kept outside the module tree: ``.module`` is the plain learner and checkpoint keys
    are the same as in a single-process run.

    What overlaps: a module's gradient buckets are all-reduced during that module's own backward, and DDP waits
    for them at its end, before the module steps (its gradients are then freed, which is what keeps one module's
    gradients alive at a time). Communication therefore does not overlap later modules' compute. Before each
    backward the ranks also agree on whether the module's loss is finite (one all-reduce of one number and one
    host sync per module, :class:`~fba_mm.core.skip_policy.SkipPolicy`): a module must know whether to step before
    it frees its gradients, so the decision cannot wait for the end of the iteration.

    Example::

        model_wrapper_cfg = dict(type='LocalDistributedDataParallel', find_unused_parameters=False)

    Args:
        module (LocalLearner): the model.
        broadcast_buffers (bool): as in DDP; off by default like mmengine's own wrapper.
        gradient_as_bucket_view (bool): gradients are views into DDP's all-reduce buckets (on by default): each
            DDP keeps its module's gradients once, instead of a bucket copy beside every ``.grad``. The buckets of
            all K DDPs stay allocated, so under DDP every module's gradients are alive at once (without DDP only
            one module's are, since each module's ``zero_grad`` frees them).
        **kwargs: further ``DistributedDataParallel`` arguments (``find_unused_parameters``, ``static_graph``).
            ``device_ids`` is chosen from the model's device (``None`` on CPU).
    """

    def __init__(self, module: LocalLearner, broadcast_buffers: bool = False, gradient_as_bucket_view: bool = True,
                 **kwargs) -> None:
        super().__init__()
        if not isinstance(module, LocalLearner):
            raise TypeError(f'LocalDistributedDataParallel wraps a local-learning model, got {type(module).__name__}; '
                            "use model_wrapper_cfg=dict(type='MMDistributedDataParallel') for end-to-end models.")
        self.module = module
        device = next(module.parameters()).device
        kwargs.pop('device_ids', None)
        device_ids = [device.index if device.index is not None else 0] if device.type == 'cuda' else None
        ddps = [DistributedDataParallel(step, device_ids=device_ids, broadcast_buffers=broadcast_buffers,
                                        gradient_as_bucket_view=gradient_as_bucket_view, **kwargs)
                for step in module.local_steps]
        object.__setattr__(self, 'local_ddps', ddps)  # not submodules: keys stay the plain model's

    local_ddps: List[DistributedDataParallel]

    def train_step(self, data, optim_wrapper):
        return self.module.train_step(data, optim_wrapper, local_steps=self.local_ddps)

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
