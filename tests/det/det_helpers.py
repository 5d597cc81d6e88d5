"""Tiny stock mmdet detectors (ResNet-18, no pretrained weights) and a batch with boxes and masks."""
import copy

from mmengine.hub import get_config

import fba_mm.det  # noqa: F401
from fba_mm.det.testing import random_det_batch

STOCK = {
    'faster_rcnn': 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'retinanet': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    'fcos': 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'atss': 'mmdet::atss/atss_r50_fpn_1x_coco.py',
    'mask_rcnn': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'cascade_rcnn': 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
}
_CACHE = {}


def tiny_detector(name: str, backbone: str = 'r18', num_classes: int = 3) -> dict:
    """The stock model config with a small ResNet (random init) and few classes."""
    if name not in _CACHE:
        _CACHE[name] = get_config(STOCK[name]).model
    model = copy.deepcopy(_CACHE[name])
    bb = model.backbone
    bb.init_cfg = None
    if backbone == 'r18':
        bb.depth = 18
        model.neck.in_channels = [64, 128, 256, 512]
    elif backbone == 'x50':
        bb.update(type='ResNeXt', depth=50, groups=4, base_width=8)
    for head in ('bbox_head', ):
        if head in model:
            model[head].num_classes = num_classes
    if 'roi_head' in model:
        for head in ('bbox_head', 'mask_head'):
            for stage in _stages(model.roi_head.get(head)):
                stage.num_classes = num_classes
    # fewer proposals and sampled RoIs than COCO's: the tests check behaviour, not accuracy, on 2 cores
    if 'rpn_proposal' in model.get('train_cfg', {}):
        model.train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
        for stage in _stages(model.train_cfg.rcnn):
            stage.sampler.num = 64
        model.test_cfg.rpn.update(nms_pre=300, max_per_img=100)
    return model


def _stages(cfg) -> list:
    """A head's (or its train_cfg's) config per stage: a list for a cascade (CascadeRoIHead), else the one."""
    if cfg is None:
        return []
    return list(cfg) if isinstance(cfg, (list, tuple)) else [cfg]


def build_detector(cfg: dict):
    """A stock mmdet detector, built in the mmdet scope as the Runner would."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg)


def det_batch(n: int = 2, size: int = 128, seed: int = 0, with_mask: bool = False):
    return random_det_batch(batch_size=n, height=size, seed=seed, with_mask=with_mask)


def assert_k1_trains_like_stock(stock_cfg: dict, optimizer: dict, steps: int = 2, with_mask: bool = False,
                                size: int = 128) -> None:
    """K=1 (no split) trains the architecture bit for bit as stock training does: same batches, same optimizer,
    the global RNG reseeded before each step (drop path, sampling draw the same numbers). The stock detector is
    initialised as the Runner does: a module may allocate a parameter without values (DINO's and Deformable DETR's
    ``level_embed`` is ``torch.Tensor(levels, dims)``, left to ``init_weights``), whose bytes, whatever memory held,
    may read as NaN or inf (NaN in the Hungarian matcher's cost)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from fba_mm.det import LocalLearningDetector
    torch.manual_seed(0)
    stock = build_detector(stock_cfg)
    stock.init_weights()
    learner = LocalLearningDetector(copy.deepcopy(stock), split_points=[])
    stock_ow = build_optim_wrapper(stock, dict(optimizer=optimizer))
    local_ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor', optimizer=optimizer))
    stock.train(), learner.train()
    for i in range(steps):
        for model, ow in ((stock, stock_ow), (learner, local_ow)):
            torch.manual_seed(i)
            model.train_step(det_batch(size=size, seed=i, with_mask=with_mask), ow)
    theirs = learner.architecture.state_dict()
    for key, value in stock.state_dict().items():
        assert torch.equal(value, theirs[key]), key


def assert_stripped_checkpoint_predicts_like_the_learner(cfg: dict, split_points, aux_net: dict = None,
                                                         lr: float = 1e-3, size: int = 128,
                                                         with_mask: bool = False) -> None:
    """After a training step, the learner's auxiliary-free state dict loads strictly into the stock detector, which
    then predicts exactly what the learner predicts (boxes, scores and, ``with_mask``, masks)."""
    import torch
    from mmengine.optim import build_optim_wrapper

    from fba_mm.core import strip_to_architecture
    from fba_mm.det import LocalLearningDetector
    torch.manual_seed(0)
    learner = LocalLearningDetector(cfg, split_points=split_points,
                                    **({} if aux_net is None else dict(aux_net=aux_net)))
    learner.init_weights()
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                           optimizer=dict(type='AdamW', lr=lr)))
    learner.train_step(det_batch(size=size, with_mask=with_mask), ow)
    stock = build_detector(cfg)
    stock.load_state_dict(strip_to_architecture(learner.state_dict()), strict=True)
    learner.eval(), stock.eval()
    with torch.no_grad():
        ours, theirs = learner.test_step(det_batch(size=size, seed=5)), stock.test_step(det_batch(size=size, seed=5))
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        if with_mask:
            assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
