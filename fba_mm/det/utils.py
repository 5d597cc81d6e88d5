"""How fba_mm.det runs a stock mmdet detector: its loss from given features, a copy of its heads, rescaled
targets."""
import contextlib
import copy
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

from fba_mm.core import ConfigError, partial_copy


def check_detector(detector: nn.Module) -> None:
    for attr in ('backbone', 'extract_feat', 'loss'):
        if getattr(detector, attr, None) is None:
            raise ConfigError(f'{type(detector).__name__} has no {attr}: fba_mm.det needs an mmdet BaseDetector with '
                              'a backbone (two-stage, single-stage or DETR-style detectors built on extract_feat).')


def loss_from_features(detector: nn.Module, feats: Sequence[torch.Tensor], data_samples,
                       encoder_state: Optional[dict] = None) -> Dict:
    """``detector.loss`` starting from given neck-level features instead of images, or for a DETR whose encoder
    is cut (:mod:`fba_mm.det.detr`) from its last encoder layer's output state.

    Every mmdet detector's ``loss`` begins with ``x = self.extract_feat(batch_inputs)``, and a DETR's transformer
    with ``pre_transformer`` and ``forward_encoder``; replacing those calls keeps the stock head logic (RPN
    proposals, RoI sampling, denoising queries, loss names) exactly as it is.
    """
    with _running_from(detector, feats, encoder_state):
        return detector.loss(None, data_samples)


def predict_from_features(detector: nn.Module, feats: Sequence[torch.Tensor], data_samples,
                          encoder_state: Optional[dict] = None) -> list:
    """``detector.predict`` (``rescale=True``: boxes in the original image's coordinates) from given neck-level
    features or encoder state, as :func:`loss_from_features` does for the loss. Returns new data samples: mmdet
    writes the predictions into the samples it is given, and the caller's may be shared by several predictions."""
    with _running_from(detector, feats, encoder_state):
        return detector.predict(None, [sample.clone() for sample in data_samples], rescale=True)


@contextlib.contextmanager
def _running_from(detector: nn.Module, feats, encoder_state):
    patches = dict(extract_feat=lambda _batch_inputs: None if feats is None else tuple(feats))
    if encoder_state is not None:
        patches.update(
            pre_transformer=lambda _feats, _samples: ({}, dict(encoder_state['decoder_inputs'])),
            forward_encoder=lambda: dict(memory=encoder_state['query'], memory_mask=encoder_state['key_padding_mask'],
                                         spatial_shapes=encoder_state['spatial_shapes']))
    for name, fn in patches.items():
        setattr(detector, name, fn)
    try:
        yield
    finally:
        for name in patches:
            delattr(detector, name)


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
        shadow = partial_copy(architecture, [name for name, child in architecture.named_children()
                                             if child is not None and name not in ('backbone', 'neck')])
        for name, param in architecture.named_parameters(recurse=False):  # DINO's level_embed
            shadow.register_parameter(name, copy.deepcopy(param))
    shadow._modules['backbone'] = None
    if 'neck' in architecture._modules:
        shadow._modules['neck'] = None
    shadow._fba_partial = True  # its init_weights would look for the backbone
    return shadow


def rescale_priors(detector: nn.Module, scale: float) -> None:
    """Make ``detector``'s heads, run on an image resized by ``scale``, send every object to the pyramid level it
    goes to at full resolution: anchor sizes (``AnchorGenerator.scales``), the RoI extractors' level thresholds
    (``finest_scale``) and FCOS-style regression ranges are multiplied by ``scale``. Without this an object shrunk
    by ``scale`` is assigned one level finer, where the features come from an earlier backbone stage than the
    head's weights see for it at full resolution (and the smallest objects fall below the finest level)."""
    for m in detector.modules():
        generator = getattr(m, 'prior_generator', None)  # a plain object, not a module
        if isinstance(getattr(generator, 'scales', None), torch.Tensor) and hasattr(generator, 'gen_base_anchors'):
            generator.scales = generator.scales * scale
            generator.base_anchors = generator.gen_base_anchors()
        if isinstance(getattr(m, 'finest_scale', None), (int, float)):
            m.finest_scale = m.finest_scale * scale
        ranges = getattr(m, 'regress_ranges', None)
        if isinstance(ranges, (list, tuple)) and all(isinstance(r, (list, tuple)) for r in ranges):
            m.regress_ranges = tuple(tuple(v * scale if v > 0 and math.isfinite(v) and v < 1e7 else v for v in r)
                                     for r in ranges)


def rescale_sample(sample, scale: float):
    """A copy of a DetDataSample as if its image had been resized by ``scale`` (boxes, masks, shapes).

    Shapes are rounded up, as avg_pool2d(ceil_mode=True) pools the features. The gt masks are resized from their own
    shape, which is the batch's (``DetDataPreprocessor(pad_mask=True)`` pads them to ``batch_input_shape``), not this
    image's ``pad_shape``: resized to the latter, a smaller image's masks would be squeezed while its boxes shrink
    evenly."""
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
        gt.masks = gt.masks.resize((math.ceil(gt.masks.height * scale), math.ceil(gt.masks.width * scale)))
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
