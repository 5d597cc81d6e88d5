"""Local learning for stock mmdet detectors."""
from collections import OrderedDict
from typing import Dict, List

from mmdet.registry import MODELS

from fba_mm.core import LocalLearner

from . import detr
from .from_features import check_detector, loss_from_features, predict_from_features
from .layouts import BackboneLayout, stage_features, stage_key


@MODELS.register_module()
class LocalLearningDetector(LocalLearner):
    """A stock mmdet detector (any ``BaseDetector``: Faster/Mask/Cascade R-CNN, RetinaNet, FCOS, ATSS, ...) with a
    backbone that has a layout (ResNet, ResNeXt, RegNet, Res2Net, Swin; :mod:`fba_mm.det.layouts`) trained by
    supervised local learning with a feature bank (FBA).

    The backbone's blocks are cut at ``split_points``. The stem and frozen stages (``frozen_stages``) are the
    gradient-free prefix; every other module is trained by its auxiliary net (``aux_net``, one per module but
    the last), and the last module together with the neck and the stock heads by the stock loss. The feature
    bank carries the detached stage features the neck reads (C2..C5) to later auxiliary nets and to the real
    neck. In Deformable DETR and DINO the encoder's layers are the trunk's last stage (``'encoder.layers.2'`` is a
    split point; :mod:`fba_mm.det.detr`). Testing runs the stock detector alone.

    Example (``configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py``)::

        _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
        runner_type = 'LocalLearningRunner'
        model = dict(_delete_=True, type='LocalLearningDetector', architecture={{_base_.model}},
                     split_points=['layer2.2', 'layer3.1', 'layer4'],
                     aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))

    Args:
        architecture (dict | nn.Module): the stock detector.
        split_points (list[str] | int): first blocks (or stages) of modules 2..K (``'layer3'``, ``'layer2.2'``,
            ``'stages.2.blocks.3'``, a DETR's ``'encoder.layers.2'``), or K.
        aux_net (dict): the auxiliary-net strategy (``SLMAuxNet``, ``DGLAuxNet``, ``AugLocAuxNet`` or any
            registered component), built once per module k < K-1 with the arguments of
            :meth:`~fba_mm.core.LocalLearner.build_aux_nets`, ``architecture_cfg`` and ``live_stage`` (the stage
            of module k's last block). It maps ``(state, {stage: feature}, data_samples)`` to losses.
        use_bank (bool): auxiliary nets read earlier stages from the bank (False: zeros, the ablation).
        with_cp, max_consecutive_skips, layout, data_preprocessor: as every local learner
            (:class:`~fba_mm.core.LocalLearner`).
    """
    network_path = 'backbone'
    scope = 'mmdet'
    registry = MODELS
    layout_kind = BackboneLayout
    default_aux_net = dict(type='SLMAuxNet')

    check_architecture = staticmethod(check_detector)

    @property
    def backbone(self):
        return self.architecture.backbone

    @property
    def detector(self):
        """The stock detector, where mmdet's hooks look for a wrapped one (``YOLOXModeSwitchHook`` switches
        ``model.detector.bbox_head.use_l1``; the auxiliary heads follow, :meth:`follow_settings`)."""
        return self.architecture

    @property
    def cuts_encoder(self) -> bool:
        """The trunk goes on past the backbone into a DETR's encoder layers (:mod:`fba_mm.det.detr`)."""
        return detr.cuts_encoder(self.architecture)

    def trunk_stages(self):
        stages = super().trunk_stages()
        if self.cuts_encoder:
            stages = OrderedDict(stages, **{detr.ENCODER: detr.encoder_blocks(self.architecture)})
        return stages

    def block_path(self, name: str) -> str:
        return f'architecture.{name}' if name.startswith(f'{detr.ENCODER}.') else super().block_path(name)

    def block_paths(self, name: str) -> List[str]:
        """Modules trained with block ``name``; with the backbone's last block, where the encoder is cut, the way
        into it (the neck, ``level_embed``)."""
        if name.startswith(f'{detr.ENCODER}.'):
            return [self.block_path(name)]
        paths = super().block_paths(name)
        if self.enters_encoder_after(name):
            paths += [f'architecture.{p}' for p in detr.entry_paths(self.architecture)]
        return paths

    def enters_encoder_after(self, name: str) -> bool:
        """The way into a cut encoder (neck, ``pre_transformer``) runs after block ``name``: the backbone's last."""
        return self.cuts_encoder and name == self.layout.blocks(self.backbone)[-1]

    def set_epoch(self, epoch: int) -> None:
        """What mmdet's ``SetEpochInfoHook`` calls before every epoch: passed on to the stock detector and to every
        auxiliary net's copy of its heads, so that a detector that switches how it trains by epoch switches in
        every module. The stock detector must define ``set_epoch`` (no mmdet 3.3 detector does; TOOD reads the epoch
        from the message hub, which reaches the auxiliary heads without this hook)."""
        if not callable(getattr(self.architecture, 'set_epoch', None)):
            raise AttributeError(
                f'{type(self.architecture).__name__} has no set_epoch, so mmdet\'s SetEpochInfoHook cannot set its '
                'epoch (it fails the same way on the stock detector). Remove SetEpochInfoHook from custom_hooks, or '
                'define set_epoch in the detector.')
        self.architecture.set_epoch(epoch)
        for aux in self.aux_nets:
            if callable(getattr(getattr(aux, 'detector', None), 'set_epoch', None)):
                aux.detector.set_epoch(epoch)

    def live_stage(self, k: int) -> int:
        """Stage of module k's last block (the encoder counts as the stage after the backbone's last)."""
        stage_of = self.layout.stage_index(self.backbone)
        last = self.module_blocks(k)[-1]
        if self.cuts_encoder and (last not in stage_of or self.enters_encoder_after(last)):
            return len(self.layout.stages(self.backbone))
        return stage_of[last]

    def first_stage(self, k: int) -> int:
        """Stage of module k's first block; -1 where module k starts with the trainable stem (it feeds every stage)."""
        if k == 0 and self.stem_trainable:
            return -1
        return self.layout.stage_index(self.backbone).get(self.module_blocks(k)[0], self.live_stage(k))

    def aux_net_args(self, k: int) -> dict:
        return dict(live_stage=self.live_stage(k), first_stage=self.first_stage(k),
                    architecture_cfg=self.architecture_cfg, cuts_encoder=self.cuts_encoder)

    def head_paths(self) -> List[str]:
        """Everything after the backbone: the neck and heads, a DETR's transformer, and parameters that sit on the
        detector itself (DINO's ``level_embed``); where the encoder is cut, less what its blocks train."""
        cut = (detr.ENCODER, *detr.entry_paths(self.architecture)) if self.cuts_encoder else ()
        return [f'architecture.{name}' for name, child in self.architecture.named_children()
                if name not in ('backbone', 'data_preprocessor', *cut) and child is not None
                and any(True for _ in child.parameters())] + \
            [f'architecture.{name}' for name, _ in self.architecture.named_parameters(recurse=False) if name not in cut]

    def run_module(self, k, state, produced, data_samples):
        """The backbone's blocks through its layout; where the encoder is cut, after the backbone's last block the
        neck and ``pre_transformer`` (:func:`~fba_mm.det.detr.enter_encoder`), then the module's encoder layers."""
        blocks = self.module_blocks(k)
        backbone_blocks = [b for b in blocks if not b.startswith(f'{detr.ENCODER}.')]
        state = self.layout.run_blocks(self.backbone, backbone_blocks, state, produced, with_cp=self.with_cp)
        if backbone_blocks and self.enters_encoder_after(backbone_blocks[-1]):
            features = {**self.feature_bank.for_head(), **produced}
            state = detr.enter_encoder(self.architecture, self.neck_output(features), data_samples)
        for name in blocks[len(backbone_blocks):]:
            state = detr.run_encoder_layer(self.get_submodule(self.block_path(name)), state, self.with_cp)
        return state

    def split_hint(self) -> str:
        frozen = getattr(self.backbone, 'frozen_stages', -1)
        hint = f'(frozen_stages={frozen}: the stem and the first {frozen} stages are the gradient-free prefix.)' \
            if frozen > 0 else ''
        points = self._split_cfg if isinstance(self._split_cfg, (list, tuple)) else []
        if not self.cuts_encoder and any(str(p).startswith(f'{detr.ENCODER}') for p in points):
            hint += (f' {type(self.architecture).__name__}\'s encoder is not cut: only the encoder layers of '
                     'Deformable DETR and DINO are split points; here the encoder trains with the last module.')
        return hint.strip()

    def neck_output(self, features) -> tuple:
        feats = tuple(features[stage_key(i)] for i in self.layout.out_indices(self.backbone))
        neck = getattr(self.architecture, 'neck', None)
        return neck(feats) if neck is not None else feats

    def forward_head(self, state, features, data_samples):
        if self.cuts_encoder:  # the encoder's output: pre_decoder, the decoder and the head
            return loss_from_features(self.architecture, None, data_samples, encoder_state=state)
        return loss_from_features(self.architecture, self.neck_output(features), data_samples)

    def predict_head(self, state, features, data_samples=None):
        if self.cuts_encoder:
            return predict_from_features(self.architecture, None, data_samples, encoder_state=state)
        return predict_from_features(self.architecture, self.neck_output(features), data_samples)

    def aux_stage_features(self, k: int, features) -> Dict:
        live = self.live_stage(k)  # earlier stages (bank, or completed in module k) and the live one if complete
        return {s: f for s, f in stage_features(features).items() if s <= live}

    def forward_aux(self, k, state, features, data_samples) -> Dict:
        return self.aux_nets[k](state, self.aux_stage_features(k, features), data_samples, bank=self.feature_bank)

    def predict_aux(self, k, state, features, data_samples=None):
        return self.aux_nets[k].predict(state, self.aux_stage_features(k, features), data_samples,
                                        bank=self.feature_bank)


__all__ = ['LocalLearningDetector']
