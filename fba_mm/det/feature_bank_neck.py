from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .utils import pyramid


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
