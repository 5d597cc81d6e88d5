from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule


@MODELS.register_module()
class FeatureBankNeck(BaseModule):
    """A copy of a detector's neck, fed from the feature bank, the live feature and the copied blocks.

    An auxiliary net at depth k has the live feature of stage s, the detached outputs of the stages before s
    from the feature bank, and the outputs of its copied blocks for the stages after s. This neck assembles
    them into the tuple the stock neck expects (the backbone's ``out_indices``) and runs the neck copy, so an
    FPN gets C2..C5 at every depth. A stage it has nothing for (the bank switched off) is fed zeros.

    Built by the auxiliary nets (:class:`SLMAuxNet`, ...); as a config::

        neck = dict(type='FeatureBankNeck', neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048],
                    out_channels=256, num_outs=5), out_indices=(0, 1, 2, 3),
                    stage_channels=(256, 512, 1024, 2048), stage_strides=(1, 2, 2, 2))
    """

    def __init__(self, neck: Optional[dict | nn.Module], out_indices: Sequence[int], stage_channels: Sequence[int],
                 stage_strides: Sequence[int], init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.neck = MODELS.build(neck) if isinstance(neck, dict) else neck
        self.out_indices = tuple(out_indices)
        self.stage_channels = tuple(stage_channels)
        self.stage_strides = tuple(stage_strides)

    def forward(self, stage_feats: Dict[int, torch.Tensor]):
        feats = pyramid(stage_feats, self.out_indices, self.stage_channels, self.stage_strides)
        return self.neck(feats) if self.neck is not None else feats


def pyramid(stage_feats: Dict[int, torch.Tensor], out_indices: Sequence[int], channels: Sequence[int],
            strides: Sequence[int]) -> Tuple[torch.Tensor, ...]:
    """The backbone's output tuple from the stages at hand; a missing stage (no feature bank, or a later stage an
    auxiliary net does not compute) is zeros of the shape it would have, so the neck and heads run unchanged but
    receive nothing from it."""
    out = []
    for i in out_indices:
        if i in stage_feats:
            out.append(stage_feats[i])
            continue
        later = [s for s in stage_feats if s > i]
        if later:  # upsample from the nearest later stage at hand
            ref = stage_feats[min(later)]
            h, w = ref.shape[2:]
            for s in range(i + 1, min(later) + 1):
                h, w = h * strides[s], w * strides[s]
        else:  # downsample from the nearest earlier one, as a stride-s conv with padding does (ceil)
            j = max(s for s in stage_feats if s < i)
            ref = stage_feats[j]
            h, w = ref.shape[2:]
            for s in range(j + 1, i + 1):
                h, w = -(-h // strides[s]), -(-w // strides[s])
        out.append(ref.new_zeros(ref.shape[0], channels[i], h, w))
    return tuple(out)
