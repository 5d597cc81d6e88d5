"""Random detection batches and the checkpointed variants, for tests and benchmarks (no data set needed)."""
import copy

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def random_det_batch(batch_size: int = 2, height: int = 128, width: int = None, num_classes: int = 3,
                     num_boxes: int = 3, seed: int = 0, with_mask: bool = False) -> dict:
    """A data batch as a detector's data_preprocessor expects it: uint8 images and DetDataSamples with boxes
    (and box-shaped masks)."""
    width = width or height
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append((torch.rand(3, height, width, generator=g) * 255).to(torch.uint8))
        size = torch.tensor([width, height], dtype=torch.float32)
        xy = torch.rand(num_boxes, 2, generator=g) * size * 0.6
        wh = torch.rand(num_boxes, 2, generator=g) * size * 0.3 + 12
        boxes = torch.cat([xy, torch.minimum(xy + wh, size - 1)], 1)
        sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                             pad_shape=(height, width), scale_factor=(1.0, 1.0),
                                             batch_input_shape=(height, width)))
        inst = InstanceData(bboxes=boxes, labels=torch.randint(0, num_classes, (num_boxes, ), generator=g))
        if with_mask:
            from mmdet.structures.mask import BitmapMasks
            masks = torch.zeros(num_boxes, height, width, dtype=torch.uint8)
            for i, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
                masks[i, y1:y2, x1:x2] = 1
            inst.masks = BitmapMasks(masks.numpy(), height, width)
        sample.gt_instances = inst
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def benchmark_batch(architecture_cfg: dict, batch_size: int, height: int, width: int) -> dict:
    """A random batch that fits the detector: its number of classes, masks when it has a mask head.

    A head may be a list of stage configs (CascadeRoIHead's ``bbox_head``): the first stage's classes (every
    stage predicts the same classes)."""
    heads = [architecture_cfg.get('bbox_head'), (architecture_cfg.get('roi_head') or {}).get('bbox_head')]
    heads = [h[0] if isinstance(h, (list, tuple)) and h else h for h in heads]
    num_classes = next(h['num_classes'] for h in heads if h)
    with_mask = 'mask_head' in (architecture_cfg.get('roi_head') or {})
    return random_det_batch(batch_size, height, width, num_classes=num_classes, with_mask=with_mask)


def _model_class(cfg: dict):
    """The class a model config builds (its ``type``, looked up in mmdet's registry when a name)."""
    from mmdet.registry import MODELS
    return MODELS.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']


def _backbone_has_with_cp(backbone_cfg: dict) -> bool:
    import inspect
    cls = _model_class(backbone_cfg)
    return cls is not None and 'with_cp' in inspect.signature(cls.__init__).parameters


def _encoder_is_cut(architecture_cfg: dict) -> bool:
    from .detr import cuts_encoder
    cls = _model_class(architecture_cfg)
    return isinstance(cls, type) and cuts_encoder(cls)


def end_to_end_checkpointed(architecture_cfg: dict):
    """The stock detector with activation checkpointing in every backbone block and, for Deformable DETR and DINO,
    every encoder layer (as mmdet's ``projects/example_largemodel`` checkpoints DINO); returns ``(model config,
    is_local_learner)``. A ResNet or Swin backbone of any other detector gets its ``with_cp`` flag; the rest (CSPNeXt,
    CSPDarknet, the DETRs' encoders) are trained by the K=1 learner with ``with_cp=True``, which trains exactly as stock
    training does (tests/det/test_csp_detectors.py, test_detr_family.py) and checkpoints every block of its trunk,
    encoder layers included, through the layout."""
    cfg = copy.deepcopy(architecture_cfg)
    if _backbone_has_with_cp(cfg.backbone) and not _encoder_is_cut(cfg):
        cfg.backbone.with_cp = True
        return cfg, False
    return dict(type='LocalLearningDetector', architecture=cfg, split_points=[], with_cp=True), True


def fba_checkpointed(fba_cfg: dict) -> dict:
    """The FBA detector with activation checkpointing in its trunk's blocks (backbone, a DETR's encoder layers) and
    its auxiliary nets' copied blocks."""
    cfg = copy.deepcopy(fba_cfg)
    if _backbone_has_with_cp(cfg.architecture.backbone) and not _encoder_is_cut(cfg.architecture):
        cfg.architecture.backbone.with_cp = True
    else:
        cfg.with_cp = True
    cfg.aux_net = dict(cfg.get('aux_net', {}), with_cp=True)
    return cfg


#: the parts of a detector in the FLOP breakdown (:func:`fba_mm.core.benchmark.count_flops`), first match wins:
#: an auxiliary net's copied blocks, the backbone, the neck, the RoI heads, the dense heads (RPN, RetinaNet, ...),
#: a DETR's transformer
FLOP_PARTS = (
    (r'^aux_nets\.\d+\.trunk\.', 'aux blocks'),
    (r'(^|\.)backbone\.', 'blocks'),
    (r'(^|\.)neck\.', 'neck'),
    (r'(^|\.)roi_head\.', 'RoI heads'),
    (r'(^|\.)(rpn_head|bbox_head)\.', 'dense heads'),
    (r'(^|\.)(encoder|decoder|query_embedding|memory_trans_fc|memory_trans_norm|reference_points_fc)\.',
     'transformer'),
)
