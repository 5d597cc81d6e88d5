"""A DETR's transformer encoder as blocks that local modules can cut (Deformable DETR and DINO).

Their encoder layers hold most of the activations (docs/det.md, "DINO-4scale R50: the encoder cut"), so
:class:`~fba_mm.det.LocalLearningDetector` reads them as the last stage of the trunk, ``'encoder'``, after
the backbone's: a split point may name ``'encoder.layers.3'``. The way into the encoder, the neck and the
detector's ``pre_transformer`` (flattening, positional and level embeddings, masks), goes with the backbone's last
block, as a stage's exit does. Between encoder layers the state is an :func:`enter_encoder` dict; what follows the
encoder (``pre_decoder``, the decoder, the head) is the detector's own code, run from that state.
"""
from typing import Dict, List

import torch.nn as nn
from mmdet.models.detectors import DeformableDETR
from mmdet.models.layers.transformer import DeformableDetrTransformerEncoder

from fba_mm.core.functional import maybe_checkpoint

#: name of the encoder's stage among the trunk's stages
ENCODER = 'encoder'


def cuts_encoder(detector) -> bool:
    """Whether ``detector``'s (an instance, or a detector class) encoder layers are blocks of the trunk: Deformable
    DETR and its subclasses (DINO), whose encoder layers all read the same inputs. DETR and Conditional DETR keep their
    encoder in the head."""
    if isinstance(detector, type):
        return issubclass(detector, DeformableDETR)
    return isinstance(detector, DeformableDETR) and isinstance(detector.encoder, DeformableDetrTransformerEncoder)


def encoder_blocks(detector: nn.Module) -> List[str]:
    return [f'{ENCODER}.layers.{i}' for i in range(len(detector.encoder.layers))]


def entry_paths(detector: nn.Module) -> List[str]:
    """What the way into the encoder trains: the neck, and the detector's bare parameters (``level_embed``)."""
    neck = ['neck'] if getattr(detector, 'neck', None) is not None else []
    return neck + [name for name, _ in detector.named_parameters(recurse=False)]


def enter_encoder(detector: nn.Module, feats, data_samples) -> Dict:
    """The encoder's input state from the neck's features: the tokens (``query``) and what every layer reads with
    them, and what the decoder reads of ``pre_transformer``'s output (``decoder_inputs``)."""
    encoder_inputs, decoder_inputs = detector.pre_transformer(tuple(feats), data_samples)
    reference_points = detector.encoder.get_encoder_reference_points(
        encoder_inputs['spatial_shapes'], encoder_inputs['valid_ratios'], device=encoder_inputs['feat'].device)
    return dict(query=encoder_inputs['feat'], query_pos=encoder_inputs['feat_pos'],
                key_padding_mask=encoder_inputs['feat_mask'], spatial_shapes=encoder_inputs['spatial_shapes'],
                level_start_index=encoder_inputs['level_start_index'], valid_ratios=encoder_inputs['valid_ratios'],
                reference_points=reference_points, decoder_inputs=decoder_inputs)


def run_encoder_layer(layer: nn.Module, state: Dict, with_cp: bool = False) -> Dict:
    """One encoder layer, as ``DeformableDetrTransformerEncoder.forward`` runs each."""
    inputs = {k: v for k, v in state.items() if k not in ('query', 'decoder_inputs')}

    def run(query):
        return layer(query=query, **inputs)

    query = maybe_checkpoint(run, state['query'], enabled=with_cp)
    return {**state, 'query': query}
