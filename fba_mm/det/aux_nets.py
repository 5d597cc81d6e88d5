"""Auxiliary nets that train a detector's local modules."""
import copy
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from fba_mm.core import ConfigError
from fba_mm.core.aux_net import AuxNet
from fba_mm.core.aux_rules import copy_without

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
        shadow = copy_without(architecture, ('backbone', 'neck'))
    shadow._modules['backbone'] = None
    if 'neck' in shadow._modules:
        shadow._modules['neck'] = None
    return shadow


class DetAuxNet(AuxNet):
    """Base of the auxiliary nets that train one local module of a :class:`LocalLearningDetector`.

    A strategy decides which stage features the aux net computes from the live feature
    (:meth:`forward_stages`); this base holds what every strategy shares: a :class:`FeatureBankNeck` over a
    copy of the detector's neck, copies of the detector's heads with their losses, and the knobs ``train_cfg``,
    ``scale`` and ``loss_weight`` (see :class:`SLMAuxNet`). Blocks kept in ``self.blocks`` mimic the backbone,
    so their BN follows the backbone's ``norm_eval``.

    The learner builds one per module k < K-1 and sets ``architecture``, ``architecture_cfg``, ``live_stage``
    (stage index of module k's last block), ``module_index`` (k), ``num_modules`` (K) and ``later_blocks`` (names
    of the trunk blocks after module k, e.g. ``['layer3.0', 'layer3.1', 'layer4.0', 'layer4.1']``).
    """

    #: True: the strategy sees the live feature alone (bank and completed earlier stages are dropped)
    live_only = False

    def __init__(self, architecture: nn.Module, live_stage: int, architecture_cfg: Optional[dict] = None,
                 module_index: Optional[int] = None, num_modules: Optional[int] = None,
                 later_blocks: Optional[Sequence[str]] = None, scale: float = 1.0, loss_weight: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        pool = round(1 / scale)
        if scale > 1 or abs(pool * scale - 1) > 1e-6 or pool & (pool - 1):
            raise ConfigError(f'aux_net.scale={scale}: use 1, 0.5, 0.25, ... (the features are average-pooled by '
                              '1/scale)')
        self.scale, self._pool = scale, pool
        self.live_stage = live_stage
        self.loss_weight = loss_weight
        self.module_index, self.num_modules = module_index, num_modules
        self.later_blocks = None if later_blocks is None else list(later_blocks)
        self.norm_eval = architecture.backbone.norm_eval

    def build_neck_and_heads(self, architecture: nn.Module, architecture_cfg: Optional[dict],
                             train_cfg: Optional[dict], fresh: bool = False) -> None:
        """Copy the neck (behind a :class:`FeatureBankNeck`) and the heads; ``fresh``: with new random weights
        (see :func:`forget_weights`). Subclasses call this after building their own layers (the registration
        order is the parameter order, which optimizer checkpoints rely on)."""
        backbone = architecture.backbone
        neck = copy.deepcopy(architecture.neck) if getattr(architecture, 'neck', None) is not None else None
        self.neck = FeatureBankNeck(neck, backbone.out_indices, stage_channels(backbone), backbone.strides)
        self.detector = head_only_copy(architecture, architecture_cfg, train_cfg)
        if fresh:
            forget_weights(self.neck)
            forget_weights(self.detector)

    def forward_stages(self, feats: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        """The stage features the neck gets, from the (rescaled) inputs; a stage left out is fed zeros."""
        raise NotImplementedError

    def forward(self, stage_feats: Dict[int, torch.Tensor], data_samples) -> Dict:
        feats = {self.live_stage: stage_feats[self.live_stage]} if self.live_only else dict(stage_feats)
        if self._pool > 1:
            feats = {s: F.avg_pool2d(f, self._pool, ceil_mode=True) for s, f in feats.items()}
            data_samples = [rescale_sample(sample, self.scale) for sample in data_samples]
        losses = loss_from_features(self.detector, self.neck(self.forward_stages(feats)), data_samples)
        if self.loss_weight != 1.0:
            losses = {k: _scale(v, self.loss_weight) if 'loss' in k else v for k, v in losses.items()}
        return losses

    def train(self, mode: bool = True):
        super().train(mode)
        blocks = getattr(self, 'blocks', None)
        if mode and self.norm_eval and blocks is not None:  # as the stock backbone: BN statistics frozen
            for m in blocks.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


@MODELS.register_module()
class SLMAuxNet(DetAuxNet):
    """The Simple Local Module (SLM) of FBA for detectors: the auxiliary net of one local module.

    For a local module whose output is (a partial) stage ``s`` of the ResNet:

    1. aligned copies of later backbone blocks: the first ``depth`` blocks of every stage after ``s`` (the
       first block carries the stride and channel change), run on the live feature;
    2. a :class:`FeatureBankNeck`: a copy of the detector's neck fed with the feature bank's earlier stages,
       the live feature as stage ``s`` and the copies' outputs as the later stages;
    3. copies of the detector's own heads with their own losses (RPN + RoI head, or the dense head).

    Where the weights of these parts come from is ``weight_source`` (see :mod:`fba_mm.core.aux_net`):
    ``'copy'``, copies that start from the main model's weights (``init_from_architecture``, after pretrained
    weights load) and are then trained by this local loss only; ``'tied'``, the main model's own blocks, neck
    and heads, run with their parameters detached (no copies, no optimizer state); ``'ema'``, frozen copies
    that follow the main weights by a moving average (``ema_momentum``). With the learner's ``use_bank=False``
    the neck gets zeros for the earlier stages (the "slm_nobank" ablation).

    Knobs (the auxiliary heads dominate local learning's peak memory):

    - ``depth``: blocks copied per later stage (1 = the first block of each).
    - ``train_cfg``: overrides of the detector's ``train_cfg`` for the auxiliary heads only, e.g. fewer
      sampled RoIs and proposals: ``dict(rpn_proposal=dict(max_per_img=300), rcnn=dict(sampler=dict(num=128)))``.
      Where the detector's entry is a list of stage dicts (Cascade R-CNN's ``rcnn``), a dict applies to every
      stage and a list of as many dicts stage by stage.
    - ``scale``: run the auxiliary net at a lower resolution (0.5: every input feature average-pooled by 2 and
      the targets rescaled to match), which cuts its memory and compute about fourfold.
    - ``with_cp``: activation checkpointing in the copied blocks.
    - ``loss_weight``: scales the local loss.
    - ``weight_source`` (``'copy'``, ``'tied'``, ``'ema'``) and ``ema_momentum``: see above. ``'tied'`` adds no
      parameters, gradients or optimizer state, which for detection outweighs the activations saved.

    ``architecture``, ``architecture_cfg``, ``live_stage``, ``module_index``, ``num_modules`` and
    ``later_blocks`` are set by the learner (see :class:`DetAuxNet`).

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model, split_points=['layer3', 'layer4'],
                     aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied',
                                  train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
    """

    def __init__(self, architecture: nn.Module, live_stage: int, architecture_cfg: Optional[dict] = None,
                 module_index: Optional[int] = None, num_modules: Optional[int] = None,
                 later_blocks: Optional[Sequence[str]] = None, depth: int = 1, train_cfg: Optional[dict] = None,
                 scale: float = 1.0, with_cp: bool = False, loss_weight: float = 1.0, weight_source: str = 'copy',
                 ema_momentum: float = 0.995, init_cfg=None) -> None:
        super().__init__(architecture, live_stage, architecture_cfg, module_index, num_modules, later_blocks,
                         scale=scale, loss_weight=loss_weight, init_cfg=init_cfg)
        if depth < 1:
            raise ConfigError(f'aux_net.depth={depth}: SLMAuxNet copies at least the first block of every later stage '
                              '(it carries the stride and channel change the neck expects); use depth >= 1.')
        backbone = architecture.backbone
        self.later_stages = list(range(live_stage + 1, len(backbone.res_layers)))
        sources = []  # (path here, path in the architecture) of every part that mirrors a main part
        stages = []
        for s in self.later_stages:
            layer = getattr(backbone, backbone.res_layers[s])
            blocks = [copy.deepcopy(layer[j]) for j in range(min(depth, len(layer)))]
            for j, blk in enumerate(blocks):
                blk.with_cp = with_cp
                sources.append((f'blocks.{len(stages)}.{j}', f'backbone.{backbone.res_layers[s]}.{j}'))
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.ModuleList(stages)
        self.build_neck_and_heads(architecture, architecture_cfg, train_cfg)
        if self.neck.neck is not None:
            sources.append(('neck.neck', 'neck'))
        sources += [(f'detector.{name}', name) for name, child in self.detector.named_children()
                    if child is not None and name not in ('backbone', 'neck', 'data_preprocessor')]
        self.mirror(sources, weight_source, ema_momentum)

    def forward_stages(self, feats: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        x = feats[self.live_stage]
        for s, blocks in zip(self.later_stages, self.blocks):
            x = blocks(x)
            feats[s] = x
        return feats

    def init_weights(self) -> None:
        # every parameter mirrors a main part (set by init_from_architecture, or bound when tied): drawing random
        # weights first would only shift the global RNG stream
        pass


def forget_weights(module: nn.Module) -> nn.Module:
    """Make a copied module fresh: every layer back to its default init, and ``init_weights()`` re-applies each
    submodule's own ``init_cfg`` even where the original had already been initialised."""
    for m in module.modules():
        if callable(getattr(m, 'reset_parameters', None)):
            m.reset_parameters()
        if isinstance(m, BaseModule):
            m._is_init = False
    return module


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


def _merge(base: dict, override: dict, path: str = 'train_cfg') -> dict:
    """``override`` merged into ``base`` in place, dict into dict. Where ``base`` holds a list of stage dicts
    (CascadeRoIHead's ``train_cfg.rcnn``, one per stage), a dict override is merged into every stage and a list
    of dicts of the same length stage by stage; anything else replaces what is there."""
    for key, value in override.items():
        old, where = base.get(key), f'{path}.{key}'
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value, where)
        elif _dict_list(old) and isinstance(value, dict):
            for i, stage in enumerate(old):
                _merge(stage, value, f'{where}[{i}]')
        elif _dict_list(old) and _dict_list(value):
            if len(value) != len(old):
                raise ConfigError(f'aux_net.{where} has {len(value)} entries, the detector has {len(old)} (one per '
                                  'stage): give one per stage, or a dict for every stage.')
            for i, (stage, stage_value) in enumerate(zip(old, value)):
                _merge(stage, stage_value, f'{where}[{i}]')
        else:
            base[key] = value
    return base


def _dict_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, dict) for v in value)


def _scale(value, weight):
    return [v * weight for v in value] if isinstance(value, (list, tuple)) else value * weight
