"""The DETR family from stock configs at tiny size (ResNet-18, one encoder and two decoder layers; the width stays
256, which DINO's decoder hard-codes in its query position encoding): every trainable parameter after the backbone
belongs to the last module, bare ones included (DINO's ``level_embed`` sits on the detector itself), and the
tied SLM auxiliary nets run the detector's own transformer and head with it. K=2/4 train with isolated gradients,
with DINO's denoising queries and Deformable DETR's two-stage, box-refining variant; K=1 trains DINO as stock
training does; the stripped checkpoint is the stock detector's."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import build_optim_wrapper

from fba_mm.det import LocalLearningDetector

from det_helpers import (
    assert_k1_trains_like_stock,
    assert_stripped_checkpoint_predicts_like_the_learner,
    build_detector,
    det_batch,
)
from isolation import assert_gradients_isolated

ROOT = Path(__file__).parents[2]
STOCK = {'dino': 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py',
         'deformable_detr': 'mmdet::deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py'}
SPLITS = {2: ['layer4'], 4: ['layer3', 'layer3.1', 'layer4']}
TIED = dict(type='SLMAuxNet', weight_source='tied')


def tiny(name: str, depth: int = 18) -> dict:
    return shrink(get_config(STOCK[name]).model, depth)


def shrink(model: dict, depth: int = 18) -> dict:
    model.backbone.update(depth=depth, init_cfg=None)
    model.neck.in_channels = [128, 256, 512]
    model.encoder.num_layers = 1
    model.encoder.layer_cfg.ffn_cfg.feedforward_channels = 256
    model.decoder.num_layers = 2
    model.decoder.layer_cfg.ffn_cfg.feedforward_channels = 256
    model.num_queries = 30
    model.test_cfg.max_per_img = 30
    if 'dn_cfg' in model:
        model.dn_cfg.group_cfg.num_dn_queries = 10
    model.bbox_head.num_classes = 3
    return model


@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', ['dino', 'deformable_detr'])
def test_detr_family_trains_with_isolated_gradients(name, k):
    torch.manual_seed(0)
    learner = LocalLearningDetector(tiny(name), split_points=SPLITS[k], aux_net=TIED)
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))


def test_bare_parameters_of_the_detector_train_with_the_last_module():
    learner = LocalLearningDetector(tiny('dino'), split_points=SPLITS[4], aux_net=TIED)
    assert 'architecture.level_embed' in learner.local_module_paths()[-1]
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor', optimizer=dict(type='AdamW',
                                                                                                     lr=1e-4)))
    last = {id(p) for g in ow['m4'].optimizer.param_groups for p in g['params']}
    assert id(learner.architecture.level_embed) in last
    # the tied auxiliary nets hold no copy of it: they bind the main one while they run
    assert all(aux.detector.level_embed is None for aux in learner.aux_nets)
    with learner.aux_weights(0):
        assert learner.aux_nets[0].detector.level_embed.data_ptr() == learner.architecture.level_embed.data_ptr()


def test_dino_k1_equals_stock_training():
    assert_k1_trains_like_stock(tiny('dino'), dict(type='AdamW', lr=1e-4, weight_decay=1e-4), size=64)


def test_dino_stripped_checkpoint_predicts_like_the_learner():
    assert_stripped_checkpoint_predicts_like_the_learner(tiny('dino'), SPLITS[4], TIED, lr=1e-4, size=64)

def test_the_shipped_dino_k4_config_trains_with_isolated_gradients():
    """configs/det/dino-4scale_r50_fba-k4_8xb2-12e_coco.py, its split and auxiliary nets, on a ResNet-34 (the
    split names layer2.2, which ResNet-18 lacks) at the tiny transformer's size."""
    cfg = Config.fromfile(str(ROOT / 'configs' / 'det' / 'dino-4scale_r50_fba-k4_8xb2-12e_coco.py')).model
    shrink(cfg.architecture, depth=34)
    cfg.aux_net.with_cp = False  # mmdet's reentrant checkpointing cannot run the helper's per-module autograd.grad
    torch.manual_seed(0)
    learner = build_detector(cfg)
    assert learner.num_modules == 4 and learner.aux_nets[0].weight_source == 'tied'
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))
