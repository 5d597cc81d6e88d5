"""Backbones beyond ResNet by name: Swin (tuple states, a stage exit of norm + patch merging), RegNet (a ResNet
subclass with its own layout), Res2Net; a user's own layout through custom_imports; backbones that cannot be
cut. Tiny models at 128 px, random init."""
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config

from fba_mm.core import ConfigError
from fba_mm.det import LocalLearningDetector
from fba_mm.det.layouts import RegNetLayout, ResNetLayout, SwinLayout

from det_helpers import (
    assert_k1_trains_like_stock,
    assert_stripped_checkpoint_predicts_like_the_learner,
    det_batch,
    tiny_detector,
)
from isolation import assert_gradients_isolated

USER_PROJECT = Path(__file__).parents[1] / 'data' / 'user_layout'


def tiny_swin(**backbone) -> dict:
    """mmdet's Swin-T Mask R-CNN config, at 1/4 of the width and with stage depths 2, 2, 4, 2."""
    model = get_config('mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py').model
    model.backbone.update(dict(embed_dims=24, depths=[2, 2, 4, 2], num_heads=[1, 2, 4, 8], drop_path_rate=0.1,
                               init_cfg=None), **backbone)
    model.neck.update(in_channels=[24, 48, 96, 192], out_channels=32)
    model.rpn_head.update(in_channels=32, feat_channels=32)
    model.roi_head.bbox_roi_extractor.out_channels = 32
    model.roi_head.mask_roi_extractor.out_channels = 32
    model.roi_head.bbox_head.update(in_channels=32, fc_out_channels=64, num_classes=3)
    model.roi_head.mask_head.update(in_channels=32, conv_out_channels=32, num_classes=3)
    model.train_cfg.rpn_proposal.update(nms_pre=300, max_per_img=100)
    model.train_cfg.rcnn.sampler.num = 64
    return model


def tiny_regnet() -> dict:
    """mmdet's RetinaNet RegNetX-800MF config (its smallest RetinaNet RegNet), random init, 3 classes."""
    model = get_config('mmdet::regnet/retinanet_regnetx-800MF_fpn_1x_coco.py').model
    model.backbone.init_cfg = None
    model.bbox_head.num_classes = 3
    return model


SWIN_SPLITS = {2: ['stages.2'], 4: ['stages.1', 'stages.2.blocks.2', 'stages.3']}  # K=4 cuts inside stage 2


# scale 0.5: the tokens pooled as an image; crop 0.5: a window of the tokens, as of an image
@pytest.mark.parametrize('k, aux', [(2, dict(crop=0.5)), (4, dict(scale=0.5))])
def test_swin_trains_with_isolated_gradients(k, aux):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_swin(), split_points=SWIN_SPLITS[k],
                                    aux_net=dict(type='SLMAuxNet', **aux))
    assert isinstance(learner.layout, SwinLayout)
    learner.init_weights()
    learner.train()
    assert_gradients_isolated(learner, lambda: det_batch(with_mask=True))


def test_swin_stage_exit_goes_with_the_stage_s_last_block():
    learner = LocalLearningDetector(tiny_swin(), split_points=SWIN_SPLITS[4])
    assert learner.module_blocks(2) == ['stages.2.blocks.2', 'stages.2.blocks.3']
    paths = learner.local_module_paths()
    bb = 'architecture.backbone.'
    assert paths[0][:2] == [bb + 'patch_embed', bb + 'stages.0.blocks.0']  # the stem trains with module 1
    assert {bb + 'norm0', bb + 'stages.0.downsample'} <= set(paths[0])  # patch merging ends stage 0
    assert bb + 'norm2' not in paths[1] and {bb + 'norm2', bb + 'stages.2.downsample'} <= set(paths[2])
    # module 2 ends inside stage 2: its auxiliary net copies stage 2's exit, then stage 3's first block and exit
    aux = learner.aux_nets[1]
    assert not aux.stage_done and aux.later_stages == [(3, ['stages.3.blocks.0'])]
    assert [p for p, _ in aux.mirror_pairs()][:4] == ['trunk.norm2', 'trunk.stages.2.downsample',
                                                     'trunk.stages.3.blocks.0', 'trunk.norm3']


@pytest.mark.parametrize('backbone', ['swin', 'regnet'])
def test_k1_equals_stock_training(backbone):
    if backbone == 'swin':  # the stock AdamW; drop path on
        assert_k1_trains_like_stock(tiny_swin(), dict(type='AdamW', lr=1e-4, weight_decay=0.05), with_mask=True)
    else:
        assert_k1_trains_like_stock(tiny_regnet(), dict(type='SGD', lr=0.01, momentum=0.9))


@pytest.mark.parametrize('backbone', ['swin', 'regnet'])
def test_stripped_checkpoint_predicts_like_the_learner(backbone):
    cfg, split, with_mask = (tiny_swin(), SWIN_SPLITS[4], True) if backbone == 'swin' else \
        (tiny_regnet(), ['layer2.1', 'layer3', 'layer4'], False)
    (cfg.test_cfg.rcnn if 'rcnn' in cfg.test_cfg else cfg.test_cfg).score_thr = 0.0
    assert_stripped_checkpoint_predicts_like_the_learner(cfg, split, with_mask=with_mask)

@pytest.mark.parametrize('k', [2, 4])
def test_regnet_gets_its_own_layout_and_trains_isolated(k):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny_regnet(), split_points={2: ['layer3'], 4: ['layer2.1', 'layer3',
                                                                                   'layer4']}[k])
    assert type(learner.layout) is RegNetLayout  # the closest class wins over ResNet's layout
    learner.init_weights()
    assert_gradients_isolated(learner, det_batch)


def test_res2net_trains_isolated():
    torch.manual_seed(0)
    model = tiny_detector('retinanet')
    model.backbone = dict(type='Res2Net', depth=50, scales=2, base_width=8, frozen_stages=1, init_cfg=None)
    model.neck.in_channels = [256, 512, 1024, 2048]
    learner = LocalLearningDetector(model, split_points=['layer3', 'layer4'])
    assert type(learner.layout) is ResNetLayout and learner.stem_paths() == ['architecture.backbone.stem']
    assert not learner.stem_trainable  # the deep stem is frozen (frozen_stages=1)
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))


def test_a_user_layout_from_custom_imports_cuts_the_user_s_backbone(monkeypatch):
    monkeypatch.syspath_prepend(str(USER_PROJECT))
    cfg = Config.fromfile(str(USER_PROJECT / 'retinanet_plain-net_fba-k3.py'))  # imports custom_imports, as tools do
    layout_cls = sys.modules['plain_net'].PlainNetLayout
    torch.manual_seed(0)
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        learner = MODELS.build(cfg.model)
    assert type(learner.layout) is layout_cls and learner.num_modules == 3
    assert learner.module_blocks(1) == ['stages.1.0', 'stages.1.1', 'stages.2.0']
    learner.init_weights()
    assert_gradients_isolated(learner, det_batch)
    # the layout can also be named in the config
    cfg.model.layout = dict(type='PlainNetLayout')
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert type(MODELS.build(cfg.model).layout) is layout_cls


@pytest.mark.parametrize('backbone, message', [
    (dict(type='HRNet', extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ), num_channels=(8, )),
        stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1), num_channels=(8, 16)),
        stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1), num_channels=(8, 16, 32)),
        stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                    num_channels=(8, 16, 32, 64)))),
     r'backbone HRNet has no layout.*parallel branches.*Use a sequential backbone.*register a Layout'),
    (dict(type='SwinTransformer', embed_dims=24, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
          use_abs_pos_embed=True, pretrain_img_size=128), r'use_abs_pos_embed=True\) is not supported.*Use '
     'use_abs_pos_embed=False'),
])
def test_backbones_that_cannot_be_cut_are_refused(backbone, message):
    cfg = tiny_detector('retinanet')
    cfg.backbone = backbone
    with pytest.raises(ConfigError, match=message):
        LocalLearningDetector(cfg, split_points=2)


def test_conv_baselines_on_swin_say_what_to_use():
    with pytest.raises(ConfigError, match=r"DGLAuxNet builds conv layers.*SwinLayout.*SLMAuxNet"):
        LocalLearningDetector(tiny_swin(), split_points=SWIN_SPLITS[2], aux_net=dict(type='DGLAuxNet'))
