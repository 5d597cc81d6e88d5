"""Local learning on stock mmdet detectors (ResNet-18 at 128 px, random init)."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError, strip_to_architecture
from fba_mm.det import LocalLearningDetector

from det_helpers import assert_k1_trains_like_stock, build_detector, det_batch, tiny_detector
from isolation import assert_gradients_isolated

SPLITS = {2: ['layer3'], 4: ['layer2.1', 'layer3', 'layer4']}
DETECTORS = ['faster_rcnn', 'retinanet', 'fcos', 'atss', 'mask_rcnn', 'cascade_rcnn']


@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', DETECTORS)
def test_detector_trains_with_isolated_gradients(name, k):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector(name), split_points=SPLITS[k])
    learner.init_weights()
    learner.train()
    assert learner.num_modules == k and len(learner.aux_nets) == k - 1
    with_mask = name == 'mask_rcnn'
    assert_gradients_isolated(learner, lambda: det_batch(with_mask=with_mask))


def test_resnext_backbone_trains():
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector('retinanet', backbone='x50'), split_points=['layer3', 'layer4'])
    learner.init_weights()
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                           optimizer=dict(type='SGD', lr=0.01)))
    log = learner.train_step(det_batch(), ow)
    assert torch.isfinite(log['loss']) and {'m1.loss', 'm2.loss', 'm3.loss'} <= set(log)


def test_k1_equals_stock_training():
    assert_k1_trains_like_stock(tiny_detector('retinanet'), dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                                steps=3)


def test_stock_settings_keep_working():
    learner = LocalLearningDetector(tiny_detector('faster_rcnn'), split_points=SPLITS[4])
    learner.train()
    backbone = learner.architecture.backbone
    assert learner.prefix_blocks == ['layer1.0', 'layer1.1']  # frozen_stages=1: stem + layer1, no gradients
    assert not any(p.requires_grad for p in backbone.layer1.parameters())
    assert all(not m.training for m in learner.modules() if isinstance(m, torch.nn.BatchNorm2d))  # norm_eval
    assert learner.aux_nets[0].trunk.get_submodule('layer3.0').bn1.training is False


def test_converted_checkpoint_predicts_like_fba_mm():
    torch.manual_seed(0)
    cfg = tiny_detector('faster_rcnn')
    cfg.test_cfg.rcnn.score_thr = 0.0  # an untrained detector scores below the stock 0.05
    learner = LocalLearningDetector(cfg, split_points=SPLITS[4])
    learner.init_weights()
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                           optimizer=dict(type='SGD', lr=0.02, momentum=0.9)))
    for i in range(2):
        learner.train_step(det_batch(seed=i), ow)
    stock = build_detector(cfg)
    stock.load_state_dict(strip_to_architecture(learner.state_dict()), strict=True)
    learner.eval(), stock.eval()
    with torch.no_grad():
        ours = learner.test_step(det_batch(seed=5))
        theirs = stock.test_step(det_batch(seed=5))
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)


def test_no_bank_ablation_trains():
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector('retinanet'), split_points=SPLITS[4], use_bank=False)
    assert_gradients_isolated(learner, det_batch)


def test_unsupported_backbone_is_refused():
    cfg = tiny_detector('retinanet')
    cfg.backbone = dict(type='MobileNetV2', out_indices=(2, 4, 6))
    with pytest.raises(ConfigError, match='backbone MobileNetV2 has no layout.*ResNet'):
        LocalLearningDetector(cfg, split_points=['layer3'])


@pytest.mark.parametrize('split, message', [
    (['layer5'], r"split_points\[0\]='layer5' is not a block.*layer1, layer2, layer3, layer4"),
    (['layer1.1'], r"split_points\[0\]='layer1.1' cuts at or before 'layer2.0'.*frozen_stages=1"),
    (['layer2.0'], r"cuts at or before 'layer2.0'"),
])
def test_bad_split_is_refused(split, message):
    with pytest.raises(ConfigError, match=message):
        LocalLearningDetector(tiny_detector('faster_rcnn'), split_points=split)


def test_aux_train_cfg_makes_lighter_aux_heads_only():
    learner = LocalLearningDetector(
        tiny_detector('faster_rcnn'), split_points=SPLITS[2],
        aux_net=dict(type='SLMAuxNet',
                     train_cfg=dict(rpn_proposal=dict(max_per_img=50), rcnn=dict(sampler=dict(num=16)))))
    aux = learner.aux_nets[0].detector
    assert aux.roi_head.bbox_sampler.num == 16 and aux.train_cfg.rpn_proposal.max_per_img == 50
    assert aux.train_cfg.rpn_proposal.nms.iou_threshold == 0.7  # the rest of the stock train_cfg is kept
    assert learner.architecture.roi_head.bbox_sampler.num == 64  # the real head is untouched
    assert_gradients_isolated(learner, det_batch)


def test_aux_train_cfg_reaches_every_cascade_stage():
    # Cascade R-CNN: roi_head.bbox_head is a list of heads and train_cfg.rcnn a list of stage dicts
    learner = LocalLearningDetector(tiny_detector('cascade_rcnn'), split_points=SPLITS[2],
                                    aux_net=dict(type='SLMAuxNet', train_cfg=dict(rcnn=dict(sampler=dict(num=16)))))
    aux = learner.aux_nets[0].detector.roi_head
    assert [s.num for s in aux.bbox_sampler] == [16, 16, 16]  # a dict applies to every stage
    assert [a.pos_iou_thr for a in aux.bbox_assigner] == [0.5, 0.6, 0.7]  # the rest of each stage is kept
    assert len(aux.bbox_head) == 3
    assert [s.num for s in learner.architecture.roi_head.bbox_sampler] == [64, 64, 64]  # the real head: untouched


def test_aux_train_cfg_per_cascade_stage():
    from fba_mm.det.head_copy import _merge
    stages = tiny_detector('cascade_rcnn').train_cfg
    merged = _merge(copy.deepcopy(stages), dict(rcnn=[dict(sampler=dict(num=n)) for n in (16, 24, 32)]))
    assert [s.sampler.num for s in merged.rcnn] == [16, 24, 32]
    assert [s.assigner.pos_iou_thr for s in merged.rcnn] == [0.5, 0.6, 0.7]
    with pytest.raises(ConfigError, match=r'train_cfg.rcnn has 2 entries, the detector has 3'):
        _merge(copy.deepcopy(stages), dict(rcnn=[dict(sampler=dict(num=16))] * 2))


@pytest.mark.parametrize('name', ['faster_rcnn', 'mask_rcnn'])
def test_half_resolution_aux_nets_train_isolated(name):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_detector(name), split_points=SPLITS[2],
                                    aux_net=dict(type='SLMAuxNet', scale=0.5))
    assert_gradients_isolated(learner, lambda: det_batch(with_mask=name == 'mask_rcnn'))


def test_rescaled_targets_follow_the_features():
    from fba_mm.det.rescale import rescale_sample
    sample = det_batch(with_mask=True)['data_samples'][0]
    half = rescale_sample(sample, 0.5)
    assert half.batch_input_shape == (64, 64) and half.img_shape == (64, 64)
    assert torch.allclose(half.gt_instances.bboxes, sample.gt_instances.bboxes / 2)
    assert half.gt_instances.masks.masks.shape[1:] == (64, 64)
    assert sample.batch_input_shape == (128, 128)  # the real head's targets are untouched


def test_aux_copies_start_from_the_pretrained_main_weights(tmp_path):
    # a "pretrained" backbone checkpoint on disk, loaded by the stock init_cfg mechanism in init_weights()
    cfg = tiny_detector('faster_rcnn')
    torch.manual_seed(1)
    pretrained = build_detector(copy.deepcopy(cfg)).backbone.state_dict()
    torch.save(pretrained, tmp_path / 'backbone.pth')
    cfg.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'backbone.pth'))
    torch.manual_seed(2)
    learner = LocalLearningDetector(cfg, split_points=SPLITS[4])
    learner.init_weights()
    aux = learner.aux_nets[0]  # module 1 ends in layer2: copies of layer3.0 and layer4.0
    assert torch.equal(aux.trunk.get_submodule('layer3.0').conv1.weight, pretrained['layer3.0.conv1.weight'])
    assert torch.equal(aux.trunk.get_submodule('layer4.0').conv2.weight, pretrained['layer4.0.conv2.weight'])
    assert torch.equal(aux.neck.neck.fpn_convs[0].conv.weight, learner.architecture.neck.fpn_convs[0].conv.weight)
    assert torch.equal(aux.detector.roi_head.bbox_head.fc_cls.weight,
                       learner.architecture.roi_head.bbox_head.fc_cls.weight)
    assert aux.trunk.get_submodule('layer3.0').conv1.weight is not learner.backbone.layer3[0].conv1.weight  # copies


def test_trainable_stem_joins_module_one():
    cfg = tiny_detector('retinanet')
    cfg.backbone.frozen_stages = -1  # nothing frozen: no gradient-free prefix
    torch.manual_seed(0)
    learner = LocalLearningDetector(cfg, split_points=['layer2', 'layer4'])
    assert learner.prefix_blocks == [] and learner.module_blocks(0) == ['layer1.0', 'layer1.1']
    assert 'architecture.backbone.conv1' in learner.local_module_paths()[0]
    assert_gradients_isolated(learner, det_batch)
