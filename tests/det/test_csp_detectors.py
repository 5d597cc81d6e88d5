"""RTMDet (CSPNeXt) and YOLOX (CSPDarknet) from their stock configs, at tiny size: the CSP layout cuts stages and the
blocks inside a CSP layer, SLM auxiliary nets run the stock heads with their assigners and losses, K=1 trains as stock
training does, and the stripped checkpoint is the stock detector's."""
import pytest
import torch
from mmengine.hub import get_config

from fba_mm.det import LocalLearningDetector
from fba_mm.det.layouts import CSPLayout

from det_helpers import (
    assert_k1_trains_like_stock,
    assert_stripped_checkpoint_predicts_like_the_learner,
    det_batch,
)
from isolation import assert_gradients_isolated

STOCK = {'rtmdet': 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 'yolox': 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'}
SPLITS = {2: ['stage3'], 4: ['stage2.1.blocks.0', 'stage3', 'stage4']}  # K=4 cuts inside stage 2's CSP layer
TIED = dict(type='SLMAuxNet', weight_source='tied')


def tiny(name: str) -> dict:
    """The stock model at a quarter of its width and one CSP block per stage, 3 classes, random init, no batch
    resizing (YOLOX's BatchSyncRandomResize would train at 480-800 px)."""
    model = get_config(STOCK[name]).model
    model.backbone.update(widen_factor=0.125, deepen_factor=0.33, init_cfg=None)
    widths = [int(w * 0.125) for w in (256, 512, 1024)]
    model.neck.update(in_channels=widths, out_channels=widths[0], num_csp_blocks=1)
    model.bbox_head.update(num_classes=3, in_channels=widths[0], feat_channels=widths[0])
    model.data_preprocessor.batch_augments = None
    return model


@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', ['rtmdet', 'yolox'])
def test_csp_detectors_train_with_isolated_gradients(name, k):
    """K=4 on windows (aux_net.crop): module 1's state inside a CSP layer is cut branch by branch."""
    torch.manual_seed(0)
    aux_net = dict(TIED, crop=0.5) if k == 4 else TIED
    learner = LocalLearningDetector(tiny(name), split_points=SPLITS[k], aux_net=aux_net)
    assert type(learner.layout) is CSPLayout and learner.num_modules == k
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))


def test_a_cut_inside_a_csp_layer_hands_on_both_branches():
    learner = LocalLearningDetector(tiny('rtmdet'), split_points=SPLITS[4], aux_net=TIED)
    assert learner.module_blocks(0)[-1] == 'stage2.1.main_conv'
    assert learner.module_blocks(1) == ['stage2.1.blocks.0', 'stage2.1.blocks.1']
    # the layer's short branch trains with its first block, its join with its last
    paths = learner.local_module_paths()
    assert 'architecture.backbone.stage2.1.short_conv' in paths[0]
    assert {'architecture.backbone.stage2.1.final_conv', 'architecture.backbone.stage2.1.attention'} <= set(paths[1])
    data = learner.data_preprocessor(det_batch(size=64), True)
    with torch.no_grad(), learner.aux_weights(0):
        state, _ = learner.forward_local(0, learner.forward_prefix(data['inputs']), data['data_samples'])
    assert isinstance(state, tuple) and len(state) == 2  # (main, short)


@pytest.mark.parametrize('name', ['rtmdet', 'yolox'])
def test_k1_equals_stock_training(name):
    assert_k1_trains_like_stock(tiny(name), dict(type='AdamW', lr=1e-3, weight_decay=0.05), size=64)


@pytest.mark.parametrize('name', ['rtmdet', 'yolox'])
def test_stripped_checkpoint_predicts_like_the_learner(name):
    cfg = tiny(name)
    cfg.test_cfg.score_thr = 0.0
    assert_stripped_checkpoint_predicts_like_the_learner(cfg, SPLITS[4], TIED, size=64)
