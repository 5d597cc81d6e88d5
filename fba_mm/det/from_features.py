"""How fba_mm.det runs a stock mmdet detector's heads and losses from given features instead of images: the stock
head logic (RPN proposals, RoI sampling, denoising queries, loss names) stays exactly as it is."""
import contextlib
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn

from fba_mm.core import ConfigError


def check_detector(detector: nn.Module) -> None:
    """Refuse a model that :func:`loss_from_features` cannot run: an mmdet detector with a backbone, whose ``loss``
    starts from ``extract_feat``."""
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
