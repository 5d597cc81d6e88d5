"""The auxiliary-net strategies for detectors (dgl, augloc, slm_nobank, slm) on ResNet-18 at 64 px."""
import copy

import pytest
import torch
from mmcv.cnn import ConvModule
from mmdet.models.backbones.resnet import BasicBlock
from torch.nn.modules.batchnorm import _BatchNorm

from fba_mm.core import ConfigError
from fba_mm.det import LocalLearningDetector

from det_helpers import build_detector, det_batch, tiny_detector
from isolation import assert_gradients_isolated

SPLITS = {2: ['layer3'], 4: ['layer2.1', 'layer3', 'layer4']}
STRATEGIES = {
    'dgl': dict(aux_net=dict(type='DGLAuxNet')),
    'augloc': dict(aux_net=dict(type='AugLocAuxNet')),
    'slm_nobank': dict(aux_net=dict(type='SLMAuxNet'), use_bank=False),
    'slm': dict(aux_net=dict(type='SLMAuxNet')),
}
CASES = [(s, 'faster_rcnn', k) for s in STRATEGIES for k in (2, 4)]
CASES += [(s, 'retinanet', k) for s in ('dgl', 'augloc') for k in (2, 4)]


def build(strategy: str, name: str, k: int, **aux_knobs) -> LocalLearningDetector:
    torch.manual_seed(0)
    cfg = copy.deepcopy(STRATEGIES[strategy])
    cfg['aux_net'].update(aux_knobs)
    learner = LocalLearningDetector(tiny_detector(name), split_points=SPLITS[k], **cfg)
    learner.init_weights()
    return learner.train()


def batch():
    return det_batch(size=64)


def isolated_train_step_log(learner):
    """Check gradient isolation and return the log of the real train_step that the check runs."""
    logs = []
    train_step = learner.train_step
    learner.train_step = lambda *args, **kwargs: logs.append(train_step(*args, **kwargs)) or logs[-1]
    try:
        assert_gradients_isolated(learner, batch)
    finally:
        del learner.train_step
    return logs[0]


@pytest.mark.parametrize('strategy, name, k', CASES)
def test_strategy_trains_with_isolated_gradients(strategy, name, k):
    learner = build(strategy, name, k)
    assert learner.num_modules == k and len(learner.aux_nets) == k - 1
    log = isolated_train_step_log(learner)
    losses = {key: v for key, v in log.items() if key.endswith('.loss')}
    assert len(losses) == k and all(torch.isfinite(v) for v in losses.values()), losses


@pytest.mark.parametrize('strategy', ['dgl', 'augloc'])
def test_half_resolution_baselines_train(strategy):
    learner = build(strategy, 'faster_rcnn', 2, scale=0.5, loss_weight=0.5)
    log = isolated_train_step_log(learner)
    assert torch.isfinite(log['m1.loss']) and torch.isfinite(log['m2.loss'])


def test_learner_tells_aux_nets_where_they_sit():
    learner = LocalLearningDetector(tiny_detector('faster_rcnn'), split_points=SPLITS[4])
    aux = learner.aux_nets
    assert [a.module_index for a in aux] == [0, 1, 2] and {a.num_modules for a in aux} == {4}
    assert aux[0].later_blocks == ['layer2.1', 'layer3.0', 'layer3.1', 'layer4.0', 'layer4.1']
    assert aux[2].later_blocks == ['layer4.0', 'layer4.1']


@pytest.mark.parametrize('use_bank', [False, True])
def test_slm_aux_nets_see_the_bank_only_when_it_is_on(use_bank):
    learner = LocalLearningDetector(tiny_detector('retinanet'), split_points=SPLITS[4], use_bank=use_bank)
    seen = []
    for aux in learner.aux_nets:
        # (state, {stage: feature} of the stages before the live one, data_samples)
        aux.register_forward_pre_hook(lambda m, args: seen.append(sorted(set(args[1]) | {m.live_stage})))
    data = learner.data_preprocessor(batch(), True)
    with torch.no_grad():
        x = learner.forward_prefix(data['inputs'])
        for k in range(learner.num_modules - 1):
            x, _ = learner.forward_local(k, x, data['data_samples'])
    learner.feature_bank.clear()
    # the aux nets of layer2.0, layer2.1 and layer3.0-3.1: live stages 1, 1, 2; the earlier ones are bank stages
    expected = [[0, 1], [0, 1], [0, 1, 2]] if use_bank else [[1], [1], [2]]
    assert seen == expected


def test_dgl_sees_the_live_feature_alone():
    learner = build('dgl', 'retinanet', 4)
    aux = learner.aux_nets[1]  # module 2 ends in layer2.1: live stage 1, the bank holds stage 0
    assert not any(isinstance(m, BasicBlock) for m in aux.modules())  # no copied backbone blocks
    assert sum(isinstance(m, ConvModule) for m in aux.convs) == 2
    assert all(m.training for m in aux.convs.modules() if isinstance(m, _BatchNorm))  # its own BN normalises
    samples = batch()['data_samples']
    live = torch.randn(2, 128, 8, 8)
    losses = []
    for bank in ({}, {0: torch.randn(2, 64, 16, 16)}, {0: torch.randn(2, 64, 16, 16)}):
        torch.manual_seed(0)
        with torch.no_grad():
            losses.append(aux(live, bank, samples))
    for other in losses[1:]:
        for key, value in losses[0].items():
            torch.testing.assert_close(other[key], value, rtol=0, atol=0)


def test_fresh_neck_and_heads_even_from_an_initialised_detector():
    stock = build_detector(tiny_detector('retinanet'))
    stock.init_weights()  # a built, initialised model: its copies must still be redrawn
    learner = LocalLearningDetector(stock, split_points=SPLITS[2], aux_net=dict(type='DGLAuxNet'))
    learner.init_weights()
    aux = learner.aux_nets[0]
    assert not torch.equal(aux.neck.neck.lateral_convs[0].conv.weight, stock.neck.lateral_convs[0].conv.weight)
    assert not torch.equal(aux.detector.bbox_head.retina_cls.weight, stock.bbox_head.retina_cls.weight)
    assert torch.allclose(aux.detector.bbox_head.retina_cls.bias, stock.bbox_head.retina_cls.bias)  # its init_cfg


def test_augloc_depth_shrinks_and_blocks_are_fresh():
    learner = build('augloc', 'faster_rcnn', 4)
    aux = learner.aux_nets
    assert [a.depth for a in aux] == [3, 2, 1]
    assert [a.sampled_blocks for a in aux] == [['layer2.1', 'layer3.1', 'layer4.1'], ['layer3.0', 'layer4.1'],
                                               ['layer4.0']]
    # layer3.1 after layer2.0 stands in for layer3.0 too: 128 channels in, stride 2, a 1x1 conv + BN shortcut
    block = aux[0].blocks[1]
    assert block.conv1.in_channels == 128 and block.conv1.stride == (2, 2) and block.downsample is not None
    assert aux[0].blocks[0].downsample is None  # layer2.1 right after layer2.0: its own shape
    # fresh, not copied: after init_weights the same-shaped block, neck and heads differ from the main ones
    main = learner.architecture
    assert aux[2].blocks[0].conv1.weight.shape == main.backbone.layer4[0].conv1.weight.shape
    assert not torch.equal(aux[2].blocks[0].conv1.weight, main.backbone.layer4[0].conv1.weight)
    assert not torch.equal(aux[2].blocks[0].downsample[0].weight, main.backbone.layer4[0].downsample[0].weight)
    assert not torch.equal(aux[2].neck.neck.fpn_convs[0].conv.weight, main.neck.fpn_convs[0].conv.weight)
    assert not torch.equal(aux[2].detector.roi_head.bbox_head.fc_cls.weight, main.roi_head.bbox_head.fc_cls.weight)
    # fresh blocks: their BN learns batch statistics whatever the backbone's norm_eval (the stock True here)
    assert learner.backbone.norm_eval and all(m.training for m in aux[0].blocks.modules() if isinstance(m, _BatchNorm))
    assert build('augloc', 'faster_rcnn', 2).aux_nets[0].depth == 3


@pytest.mark.parametrize('aux_net, message', [
    (dict(type='AugLocAuxNet', max_depth=0), r'1 <= min_depth <= max_depth'),
    (dict(type='AugLocAuxNet', max_depth=2, min_depth=3), r'1 <= min_depth <= max_depth'),
    (dict(type='DGLAuxNet', num_convs=-1), r'num_convs=-1'),
    (dict(type='DGLAuxNet', scale=0.3), r'scale=0.3'),
])
def test_bad_knobs_are_refused(aux_net, message):
    with pytest.raises(ConfigError, match=message):
        LocalLearningDetector(tiny_detector('retinanet'), split_points=SPLITS[2], aux_net=aux_net)
