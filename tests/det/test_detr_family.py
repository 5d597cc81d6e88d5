"""The DETR family from stock configs at tiny size (ResNet-18, one encoder and two decoder layers; the width stays
256, which DINO's decoder hard-codes in its query position encoding): every trainable parameter after the backbone
belongs to the last module, bare ones included (DINO's ``level_embed`` sits on the detector itself), and the
tied SLM auxiliary nets run the detector's own transformer and head with it. K=2/4 train with isolated gradients,
with DINO's denoising queries and Deformable DETR's two-stage, box-refining variant; K=1 trains DINO as stock
training does; the stripped checkpoint is the stock detector's. A split point may cut the encoder's layers."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError
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
#: K=4 with the last cut inside a three-layer encoder: module 3 is layer4, the neck and encoder layer 0
ENCODER_SPLIT = ['layer3', 'layer4', 'encoder.layers.1']


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


@pytest.mark.parametrize('name', ['dino', 'deformable_detr'])
def test_the_stripped_checkpoint_predicts_like_the_learner(name):
    assert_stripped_checkpoint_predicts_like_the_learner(tiny(name), SPLITS[4], TIED, lr=1e-4, size=64)


@pytest.mark.parametrize('config, num_modules', [('dino-4scale_r50_fba-k4_8xb2-12e_coco.py', 4),
                                                 ('dino-4scale_r50_fba-k6_8xb2-12e_coco.py', 6)])
def test_the_shipped_dino_configs_train_with_isolated_gradients(config, num_modules):
    """configs/det/dino-4scale_r50_fba-k{4,6}_*.py, their splits and auxiliary nets, on a ResNet-34 (the split names
    layer2.2, which ResNet-18 lacks) at the tiny transformer's size with DINO's six encoder layers."""
    cfg = Config.fromfile(str(ROOT / 'configs' / 'det' / config)).model
    shrink(cfg.architecture, depth=34)
    cfg.architecture.encoder.num_layers = 6
    cfg.aux_net.with_cp = False  # mmdet's reentrant checkpointing cannot run the helper's per-module autograd.grad
    torch.manual_seed(0)
    learner = build_detector(cfg)
    assert learner.num_modules == num_modules and learner.aux_nets[0].weight_source == 'tied'
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))


def with_encoder_layers(name: str, num_layers: int = 3) -> dict:
    cfg = tiny(name)
    cfg.encoder.num_layers = num_layers
    return cfg


@pytest.mark.parametrize('name, weight_source', [('dino', 'tied'), ('deformable_detr', 'tied'), ('dino', 'copy')])
def test_a_split_point_cuts_the_encoder(name, weight_source):
    """Modules 1-2 end in the backbone, module 3 in the encoder; each trains only by its own loss. SLM treats the
    encoder as the last stage: the auxiliary nets of modules 1-2 run its first layer, module 3's runs none (the
    decoder and head on its tokens); module 3 trains the neck and level_embed, the way into the encoder."""
    torch.manual_seed(0)
    learner = LocalLearningDetector(with_encoder_layers(name), split_points=ENCODER_SPLIT,
                                    aux_net=dict(type='SLMAuxNet', weight_source=weight_source))
    assert learner.module_blocks(2) == ['layer4.0', 'layer4.1', 'encoder.layers.0']
    assert learner.module_blocks(3) == ['encoder.layers.1', 'encoder.layers.2']
    paths = learner.local_module_paths()
    assert {'architecture.neck', 'architecture.level_embed'} <= set(paths[2])
    assert not any(p.startswith(('architecture.neck', 'architecture.level_embed', 'architecture.encoder.layers.0'))
                   for p in paths[3])
    assert [len(aux.detector.encoder.layers) for aux in learner.aux_nets] == [1, 1, 0]
    assert learner.aux_nets[2].neck is None
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))


def test_with_the_encoder_cut_k1_still_trains_like_stock_and_the_checkpoint_is_stock():
    """K=1 runs the encoder layer by layer (the trunk's last stage) and matches stock training bit for bit; after a
    step with the encoder cut, the stripped checkpoint loads strictly into the stock DINO and predicts alike."""
    assert_k1_trains_like_stock(with_encoder_layers('dino'), dict(type='AdamW', lr=1e-4, weight_decay=1e-4), size=64)
    assert_stripped_checkpoint_predicts_like_the_learner(with_encoder_layers('dino'), ENCODER_SPLIT, TIED, lr=1e-4,
                                                         size=64)


def test_every_module_predicts_with_the_encoder_cut():
    """predict_by_module: the auxiliary net of the module that ends in the encoder decodes its tokens."""
    torch.manual_seed(0)
    learner = LocalLearningDetector(with_encoder_layers('dino'), split_points=ENCODER_SPLIT, aux_net=TIED)
    learner.init_weights()
    learner.eval()
    data = learner.data_preprocessor(det_batch(size=64), False)
    predictions = learner.predict_by_module(data['inputs'], data['data_samples'])
    assert len(predictions) == 4
    for module in predictions:
        assert all(len(sample.pred_instances) == 30 for sample in module)  # max_per_img of the tiny config
    assert not torch.equal(predictions[2][0].pred_instances.scores, predictions[3][0].pred_instances.scores)


def test_only_slm_trains_a_module_that_ends_in_the_encoder():
    with pytest.raises(ConfigError, match='module 2, which ends in the transformer.s encoder.*SLMAuxNet'):
        LocalLearningDetector(with_encoder_layers('dino'), split_points=ENCODER_SPLIT, aux_net=dict(type='DGLAuxNet'))


def test_a_window_of_the_encoder_s_tokens_is_refused():
    with pytest.raises(ConfigError, match='aux_net.crop=0.5: module 2 ends in the transformer.s encoder.*crop=1'):
        LocalLearningDetector(with_encoder_layers('dino'), split_points=ENCODER_SPLIT, aux_net=dict(TIED, crop=0.5))


def test_a_detr_whose_encoder_is_not_cut_says_so():
    """Plain DETR's encoder layers read other inputs than Deformable DETR's; a split point there is refused."""
    cfg = get_config('mmdet::detr/detr_r50_8xb2-150e_coco.py').model
    cfg.backbone.update(depth=18, init_cfg=None)
    with pytest.raises(ConfigError, match="not a block.*DETR's encoder is not cut: only the encoder layers of "
                                          'Deformable DETR and DINO'):
        LocalLearningDetector(cfg, split_points=['layer4', 'encoder.layers.3'], aux_net=TIED)
