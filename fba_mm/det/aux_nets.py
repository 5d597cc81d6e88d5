"""Auxiliary nets that train a detector's local modules."""
import copy
import math
from typing import Dict, Optional

import torch

import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from fba_mm.core import ConfigError
from .feature_bank_neck import FeatureBankNeck
from .utils import loss_from_features, stage_channels


def head_only_copy(architecture: nn.Module, architecture_cfg: Optional[dict], train_cfg: Optional[dict]):
    """A detector with the architecture's heads and losses but no backbone and no neck (those the auxiliary
    net brings itself). Built from the config when the aux heads get their own ``train_cfg`` (the RoI/anchor
    samplers are made at construction), else copied."""
    if train_cfg:
        if architecture_cfg is None:
            raise ConfigError('aux_net.train_cfg needs the architecture as a config dict (architecture=dict(...)), '
                              'not a built model: the auxiliary heads are rebuilt with it.')
        cfg = copy.deepcopy(ConfigDict(architecture_cfg))
        cfg.train_cfg = _merge(copy.deepcopy(cfg.get('train_cfg') or ConfigDict()), train_cfg)
        cfg.backbone.init_cfg = None
        shadow = MODELS.build(cfg)
    else:
        held = {name: architecture._modules[name] for name in ('backbone', 'neck') if name in architecture._modules}
        for name in held:
            architecture._modules[name] = None
        try:
            shadow = copy.deepcopy(architecture)
        finally:
            architecture._modules.update(held)
    shadow._modules['backbone'] = None
    if 'neck' in shadow._modules:
        shadow._modules['neck'] = None
    return shadow


@MODELS.register_module()
class SLMAuxNet(BaseModule):
    """The Simple Local Module (SLM) of FBA for detectors: the auxiliary net of one local module.

    For a local module whose output is (a partial) stage ``s`` of the ResNet:

    1. aligned copies of later backbone blocks: the first ``depth`` blocks of every stage after ``s`` (the
       first block carries the stride and channel change), run on the live feature;
    2. a :class:`FeatureBankNeck`: a copy of the detector's neck fed with the feature bank's earlier stages,
       the live feature as stage ``s`` and the copies' outputs as the later stages;
    3. copies of the detector's own heads with their own losses (RPN + RoI head, or the dense head).

    All copies start from the main model's weights (``init_from_architecture``, after pretrained weights
    load) and are then trained by this local loss only.

    Knobs (the auxiliary heads dominate local learning's peak memory):

    - ``depth``: blocks copied per later stage (1 = the first block of each).
    - ``train_cfg``: overrides of the detector's ``train_cfg`` for the auxiliary heads only, e.g. fewer
      sampled RoIs and proposals: ``dict(rpn_proposal=dict(max_per_img=300), rcnn=dict(sampler=dict(num=128)))``.
    - ``scale``: run the auxiliary net at a lower resolution (0.5: every input feature average-pooled by 2 and
      the targets rescaled to match), which cuts its memory and compute about fourfold.
    - ``with_cp``: activation checkpointing in the copied blocks.
    - ``loss_weight``: scales the local loss.

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model, split_points=['layer3', 'layer4'],
                     aux_net=dict(type='SLMAuxNet', depth=1, train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
    """

    def __init__(self, architecture: nn.Module, live_stage: int, architecture_cfg: Optional[dict] = None,
                 depth: int = 1, train_cfg: Optional[dict] = None, scale: float = 1.0, with_cp: bool = False,
                 loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        pool = round(1 / scale)
        if scale > 1 or abs(pool * scale - 1) > 1e-6 or pool & (pool - 1):
            raise ConfigError(f'aux_net.scale={scale}: use 1, 0.5, 0.25, ... (the features are average-pooled by 1/scale)')
        self.scale, self._pool = scale, pool
        if depth < 1:
            raise ConfigError(f'aux_net.depth={depth}: SLMAuxNet copies at least the first block of every later stage '
                              '(it carries the stride and channel change the neck expects); use depth >= 1.')
        backbone = architecture.backbone
        self.live_stage = live_stage
        self.loss_weight = loss_weight
        self.norm_eval = backbone.norm_eval
        self.later_stages = list(range(live_stage + 1, len(backbone.res_layers)))
        self._block_sources = []
        stages = []
        for s in self.later_stages:
            layer = getattr(backbone, backbone.res_layers[s])
            blocks = [copy.deepcopy(layer[j]) for j in range(min(depth, len(layer)))]
            for j, blk in enumerate(blocks):
                blk.with_cp = with_cp
                self._block_sources.append((f'blocks.{len(stages)}.{j}', f'backbone.{backbone.res_layers[s]}.{j}'))
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.ModuleList(stages)
        neck = copy.deepcopy(architecture.neck) if getattr(architecture, 'neck', None) is not None else None
        self.neck = FeatureBankNeck(neck, backbone.out_indices, stage_channels(backbone), backbone.strides)
        self.detector = head_only_copy(architecture, architecture_cfg, train_cfg)

    def forward(self, stage_feats: Dict[int, torch.Tensor], data_samples) -> Dict:
        feats = dict(stage_feats)
        if self._pool > 1:
            feats = {s: F.avg_pool2d(f, self._pool, ceil_mode=True) for s, f in feats.items()}
            data_samples = [rescale_sample(sample, self.scale) for sample in data_samples]
        x = feats[self.live_stage]
        for s, blocks in zip(self.later_stages, self.blocks):
            x = blocks(x)
            feats[s] = x
        losses = loss_from_features(self.detector, self.neck(feats), data_samples)
        if self.loss_weight != 1.0:
            losses = {k: _scale(v, self.loss_weight) if 'loss' in k else v for k, v in losses.items()}
        return losses

    def init_from_architecture(self, architecture: nn.Module) -> None:
        for copy_path, source in self._block_sources:
            self.get_submodule(copy_path).load_state_dict(architecture.get_submodule(source).state_dict())
        if self.neck.neck is not None:
            self.neck.neck.load_state_dict(architecture.neck.state_dict())
        for name, child in self.detector.named_children():
            if child is not None and name not in ('backbone', 'neck', 'data_preprocessor'):
                child.load_state_dict(architecture.get_submodule(name).state_dict())

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval:  # as the stock backbone: BN statistics frozen
            for m in self.blocks.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def rescale_sample(sample, scale: float):
    """A copy of a DetDataSample as if its image had been resized by ``scale`` (boxes, masks, shapes)."""
    sample = sample.clone()
    meta = {}
    for key in ('img_shape', 'pad_shape', 'batch_input_shape'):
        if key in sample.metainfo:
            meta[key] = tuple(math.ceil(v * scale) for v in sample.metainfo[key][:2])
    if 'scale_factor' in sample.metainfo:
        meta['scale_factor'] = tuple(v * scale for v in sample.metainfo['scale_factor'])
    sample.set_metainfo(meta)
    gt = sample.gt_instances.clone()  # clone() is shallow: assign new values, never change them in place
    sample.gt_instances = gt
    if hasattr(gt.bboxes, 'rescale_'):
        gt.bboxes = gt.bboxes.clone()
        gt.bboxes.rescale_([scale, scale])
    else:
        gt.bboxes = gt.bboxes * scale
    if 'masks' in gt:
        gt.masks = gt.masks.resize(meta.get('pad_shape', meta.get('batch_input_shape')))
    return sample


def _merge(base: dict, override: dict) -> dict:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _scale(value, weight):
    return [v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight
