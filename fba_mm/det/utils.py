"""How fba_mm.det reads a stock mmdet detector: its ResNet trunk and its loss from given features."""
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.models.backbones import ResNet

from fba_mm.core import ConfigError


def check_supported(detector: nn.Module) -> ResNet:
    backbone = getattr(detector, 'backbone', None)
    if not isinstance(backbone, ResNet):
        raise ConfigError(
            f'backbone {type(backbone).__name__} is not supported: fba_mm.det cuts ResNet-family backbones (ResNet, '
            'ResNetV1d, ResNeXt) into local modules by their res_layers. Use one of them, or add an adapter that '
            'names the blocks of your backbone (LocalLearningDetector.trunk_blocks).')
    for attr in ('extract_feat', 'loss'):
        if not callable(getattr(detector, attr, None)):
            raise ConfigError(f'{type(detector).__name__} has no {attr}(): fba_mm.det needs an mmdet BaseDetector')
    return backbone


def stage_channels(backbone: ResNet) -> List[int]:
    """Output channels of every res layer (its last block's last conv, or downsample conv: both have them)."""
    return [[m for m in getattr(backbone, name)[-1].modules() if isinstance(m, nn.Conv2d)][-1].out_channels
            for name in backbone.res_layers]


def loss_from_features(detector: nn.Module, feats: Sequence[torch.Tensor], data_samples) -> Dict:
    """``detector.loss`` starting from given neck-level features instead of images.

    Every mmdet detector's ``loss`` begins with ``x = self.extract_feat(batch_inputs)``; replacing that one
    call keeps the stock head logic (RPN proposals, RoI sampling, loss names) exactly as it is.
    """
    feats = tuple(feats)
    detector.extract_feat = lambda _batch_inputs: feats
    try:
        return detector.loss(None, data_samples)
    finally:
        del detector.extract_feat


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
