"""Local learning for stock mmdet detectors."""
from typing import Dict, List

from mmdet.registry import MODELS

from fba_mm.core import LocalLearner

from .layouts import BackboneLayout, stage_features, stage_key
from .utils import check_detector, loss_from_features, predict_from_features


@MODELS.register_module()
class LocalLearningDetector(LocalLearner):
    """A stock mmdet detector (any ``BaseDetector``: Faster/Mask/Cascade R-CNN, RetinaNet, FCOS, ATSS, ...) with a
    backbone that has a layout (ResNet, ResNeXt, RegNet, Res2Net, Swin; :mod:`fba_mm.det.layouts`) trained by
    supervised local learning with a feature bank (FBA).

    The backbone's blocks are cut at ``split_points``. The stem and frozen stages (``frozen_stages``) are the
    gradient-free prefix; every other module is trained by its auxiliary net (``aux_net``, one per module but
    the last), and the last module together with the neck and the stock heads by the stock loss. The feature
    bank carries the detached stage features the neck reads (C2..C5) to later auxiliary nets and to the real
    neck. Testing runs the stock detector alone.

    Example (``configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py``)::

        _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['fba_mm.det'])
        model = dict(_delete_=True, type='LocalLearningDetector', architecture=_base_.model,
                     split_points=['layer2.2', 'layer3', 'layer4'], aux_net=dict(type='SLMAuxNet', depth=1))
        optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
        default_hooks = dict(local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
                             stock_checkpoint=dict(type='StockCheckpointHook'))
        log_processor = dict(type='LocalLogProcessor')
        model_wrapper_cfg = dict(type='LocalDistributedDataParallel')

    Args:
        architecture (dict | nn.Module): the stock detector.
        split_points (list[str] | int): first blocks (or stages) of modules 2..K (``'layer3'``, ``'layer2.2'``,
            ``'stages.2.blocks.3'``), or K.
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

    def live_stage(self, k: int) -> int:
        """Stage of module k's last block."""
        return self.layout.stage_index(self.backbone)[self.module_blocks(k)[-1]]

    def aux_net_args(self, k: int) -> dict:
        return dict(live_stage=self.live_stage(k), architecture_cfg=self.architecture_cfg)

    def head_paths(self) -> List[str]:
        """Everything after the backbone: the neck and heads, a DETR's transformer, and parameters that sit on the
        detector itself (DINO's ``level_embed``)."""
        return [f'architecture.{name}' for name, child in self.architecture.named_children()
                if name not in ('backbone', 'data_preprocessor') and child is not None
                and any(True for _ in child.parameters())] + \
            [f'architecture.{name}' for name, _ in self.architecture.named_parameters(recurse=False)]

    def split_hint(self) -> str:
        frozen = getattr(self.backbone, 'frozen_stages', -1)
        return f'(frozen_stages={frozen}: the stem and the first {frozen} stages are the gradient-free prefix.)' \
            if frozen > 0 else ''

    def neck_output(self, features) -> tuple:
        feats = tuple(features[stage_key(i)] for i in self.layout.out_indices(self.backbone))
        neck = getattr(self.architecture, 'neck', None)
        return neck(feats) if neck is not None else feats

    def forward_head(self, state, features, data_samples):
        return loss_from_features(self.architecture, self.neck_output(features), data_samples)

    def predict_head(self, state, features, data_samples=None):
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
