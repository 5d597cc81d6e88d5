"""How the benchmarks measure detectors (:class:`~fba_mm.core.benchmark.BenchmarkRecipe`, registered as ``'mmdet'``)."""
import copy
import inspect
from typing import Optional

from mmdet.registry import MODELS

from fba_mm.core.benchmark import BENCHMARK_RECIPES, BenchmarkRecipe

from .detr import cuts_encoder
from .testing import random_det_batch


@BENCHMARK_RECIPES.register_module(name='mmdet')
class DetBenchmarkRecipe(BenchmarkRecipe):
    """Detectors: a random batch with the detector's classes (and masks when it has a mask head); checkpointing in
    every backbone block and, for Deformable DETR and DINO, every encoder layer (as mmdet's
    ``projects/example_largemodel`` checkpoints DINO). A ResNet or Swin backbone of any other detector gets its
    ``with_cp`` flag; the rest (CSPNeXt, CSPDarknet, the DETRs' encoders) are checkpointed by the K=1 learner with
    ``with_cp=True``, which trains exactly as stock training does (tests/det/test_csp_detectors.py,
    test_detr_family.py) and checkpoints every block of its trunk, encoder layers included, through the layout.

    Example::

        recipe = benchmark_recipe('mmdet')   # fba_mm.core.benchmark
        batch = recipe.batch(cfg.model.architecture, 2, 512, 512)
    """

    one_module_learner = dict(type='LocalLearningDetector', split_points=[])
    #: an auxiliary net's copied blocks, the backbone, the neck, the RoI heads, the dense heads (RPN, RetinaNet, ...),
    #: a DETR's transformer
    flop_parts = (
        (r'^aux_nets\.\d+\.trunk\.', 'aux blocks'),
        (r'(^|\.)backbone\.', 'blocks'),
        (r'(^|\.)neck\.', 'neck'),
        (r'(^|\.)roi_head\.', 'RoI heads'),
        (r'(^|\.)(rpn_head|bbox_head)\.', 'dense heads'),
        (r'(^|\.)(encoder|decoder|query_embedding|memory_trans_fc|memory_trans_norm|reference_points_fc)\.',
         'transformer'),
    )

    def batch(self, architecture_cfg: dict, batch_size: int, height: int, width: int) -> dict:
        """With the detector's number of classes, and masks when it has a mask head. A head may be a list of stage
        configs (CascadeRoIHead's ``bbox_head``): the first stage's classes (every stage predicts the same classes)."""
        heads = [architecture_cfg.get('bbox_head'), (architecture_cfg.get('roi_head') or {}).get('bbox_head')]
        heads = [h[0] if isinstance(h, (list, tuple)) and h else h for h in heads]
        num_classes = next(h['num_classes'] for h in heads if h)
        with_mask = 'mask_head' in (architecture_cfg.get('roi_head') or {})
        return random_det_batch(batch_size, height, width, num_classes=num_classes, with_mask=with_mask)

    def own_checkpointing(self, architecture_cfg: dict) -> Optional[dict]:
        if not _backbone_has_with_cp(architecture_cfg.backbone) or _encoder_is_cut(architecture_cfg):
            return None
        cfg = copy.deepcopy(architecture_cfg)
        cfg.backbone.with_cp = True
        return cfg


def _model_class(cfg: dict):
    """The class a model config builds (its ``type``, looked up in mmdet's registry when a name)."""
    return MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']


def _backbone_has_with_cp(backbone_cfg: dict) -> bool:
    cls = _model_class(backbone_cfg)
    return cls is not None and 'with_cp' in inspect.signature(cls.__init__).parameters


def _encoder_is_cut(architecture_cfg: dict) -> bool:
    cls = _model_class(architecture_cfg)
    return isinstance(cls, type) and cuts_encoder(cls)
