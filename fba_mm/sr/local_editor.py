"""Local learning for stock mmagic SR editors."""
from typing import List

import torch.nn as nn
from mmagic.registry import MODELS

from fba_mm.core import LocalLearner

from .layouts import SRLayout, check_editor


@MODELS.register_module()
class LocalLearningEditor(LocalLearner):
    """A stock mmagic SR editor (``BaseEditModel`` with EDSRNet, MSRResNet, RCANNet, RRDBNet, RDNNet or
    SwinIRNet) trained by supervised local learning with a feature bank (FBA).

    The generator's residual body is cut at ``split_points``. Module 1 also holds the stem (``conv_first``);
    the last module also holds the tail and is trained by the stock pixel loss; every other module by its
    auxiliary net (``aux_net``). The feature bank carries what the global skip needs (the shallow feature, or
    the LR input for MSRResNet) to the auxiliary nets and to the real tail; for RDN, whose tail fuses every body
    block's output, it also carries each block output of the earlier modules (one key per block). How a
    generator is read is its layout (:mod:`fba_mm.sr.layouts`), found by the generator's class. Testing runs the
    stock editor alone.

    Example (``configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py``)::

        _base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
        custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
        runner_type = 'LocalLearningRunner'
        model = dict(_delete_=True, type='LocalLearningEditor', architecture={{_base_.model}},
                     split_points=['body.4', 'body.8', 'body.12'], aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))

    Args:
        architecture (dict | nn.Module): the stock editor.
        split_points (list[str] | int): first blocks of modules 2..K (``'body.8'``), or K for K equal parts.
        aux_net (dict): the auxiliary-net strategy, built once per module 1..K-1.
        use_bank (bool): auxiliary nets get the global skip (and RDN's earlier block outputs) from the bank
            (False: zeros, the ablation; the real tail still gets them).
        with_cp (bool): activation checkpointing of every body block (with K=1: end-to-end training with
            checkpointing, which the stock SR generators do not offer).
        max_consecutive_skips, layout, data_preprocessor: as every local learner (:class:`~fba_mm.core.LocalLearner`).
    """
    network_path = 'generator'
    scope = 'mmagic'
    registry = MODELS
    layout_kind = SRLayout
    default_aux_net = dict(type='SLMAuxNet')

    check_architecture = staticmethod(check_editor)

    @property
    def generator(self) -> nn.Module:
        return self.architecture.generator

    def head_paths(self) -> List[str]:
        return [f'architecture.generator.{m}' for m in self.layout.tail]

    def split_hint(self) -> str:
        blocks = self.layout.blocks(self.generator)
        return f'({type(self.generator).__name__} has {len(blocks)} body blocks, {blocks[0]}..{blocks[-1]}.)'

    def forward_head(self, feat, features, data_samples):
        out = self.predict_head(feat, features)
        return dict(loss=self.architecture.pixel_loss(out, data_samples.gt_img))  # BaseEditModel's loss

    def predict_head(self, feat, features, data_samples=None):
        # the real tail always gets what the stock net needs (even with use_bank=False: it cannot run without)
        blocks = [features[n] for n in self.layout.blocks(self.generator)] if self.layout.bank_carries_blocks \
            else None
        return self.layout.forward_tail(self.generator, feat, features['skip'], blocks)


__all__ = ['LocalLearningEditor']
