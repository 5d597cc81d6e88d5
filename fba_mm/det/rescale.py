"""A detector's priors and targets for an auxiliary net that runs at a lower resolution (``aux_net.scale``)."""
import math

import torch
import torch.nn as nn


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
