"""SLM's weight sources for detectors: trained copies, tied (the main parts, detached) and EMA copies."""
import pytest
import torch

from fba_mm.core import ConfigError
from fba_mm.det import LocalLearningDetector

from det_helpers import build_detector, det_batch, tiny_detector
from isolation import assert_gradients_isolated
from weight_sources import (
    assert_aux_backward_reaches_module_k_only,
    assert_ema_follows_the_main_weights,
    assert_load_from_recopies_the_aux_nets,
    assert_no_optimizer_state_beyond_the_architecture,
    optimizer_params,
)

SPLIT4 = ['layer2.1', 'layer3', 'layer4']


def build(weight_source, name='faster_rcnn', norm_eval=True, **knobs):
    torch.manual_seed(0)
    arch = tiny_detector(name)
    arch.backbone.norm_eval = norm_eval
    learner = LocalLearningDetector(arch, split_points=SPLIT4,
                                    aux_net=dict(type='SLMAuxNet', weight_source=weight_source, **knobs))
    learner.init_weights()
    return learner.train()


def batch():
    return det_batch(size=64)


@pytest.mark.parametrize('name', ['faster_rcnn', 'retinanet'])
@pytest.mark.parametrize('weight_source', ['tied', 'ema'])
def test_tied_and_ema_train_with_isolated_gradients(weight_source, name):
    assert_gradients_isolated(build(weight_source, name), batch)


@pytest.mark.parametrize('weight_source', ['tied', 'ema'])
def test_tied_and_ema_add_no_optimizer_state(weight_source):
    learner = build(weight_source)
    ow = assert_no_optimizer_state_beyond_the_architecture(learner)
    _, copies = optimizer_params(build('copy'))
    assert sum(map(len, copies.values())) > sum(len(g['params']) for w in ow.values() for g in w.optimizer.param_groups)
    if weight_source == 'tied':  # no weights of their own at all, and none in the checkpoint
        assert sum(p.numel() for p in learner.aux_nets.parameters()) == 0
        assert not any(k.startswith('aux_nets.') for k in learner.state_dict())


@pytest.mark.parametrize('k, knobs', [(0, {}), (1, {}), (0, dict(with_cp=True))])
def test_tied_local_loss_reaches_module_k_only_and_leaves_main_statistics(k, knobs):
    # norm_eval=False: the tied blocks run in train mode on the auxiliary input, the case that could move the
    # main BN statistics. with_cp: mmdet's (reentrant) checkpointing recomputes the tied blocks in the backward,
    # when their weights must still be bound.
    learner = build('tied', norm_eval=False, **knobs)
    trunk = learner.aux_nets[0].trunk  # its copied blocks, not the partial backbone holding them
    assert all(b.with_cp for name, b in trunk.named_modules() if name and hasattr(b, 'with_cp')) == bool(knobs)
    assert_aux_backward_reaches_module_k_only(learner, batch, k)


def test_tied_aux_net_computes_what_a_fresh_copy_of_the_main_parts_computes():
    tied, copied = build('tied'), build('copy')
    copied.load_state_dict(tied.state_dict(), strict=False)  # same main weights; copies taken from them
    copied.init_aux_from_architecture()
    for learner in (tied, copied):
        learner.eval()  # no sampling noise in BN; the heads still compute the training losses
    data = tied.data_preprocessor(batch(), True)
    with torch.no_grad():
        live, feats = torch.randn(2, 128, 8, 8), {0: torch.randn(2, 64, 16, 16)}
        torch.manual_seed(1)
        with tied.aux_weights(1):
            a = tied.aux_nets[1](live, dict(feats), data['data_samples'])
        torch.manual_seed(1)
        b = copied.aux_nets[1](live, dict(feats), data['data_samples'])
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_ema_copies_follow_the_main_weights():
    assert_ema_follows_the_main_weights(build('ema', ema_momentum=0.9), batch, 0.9)


def test_bad_weight_source_is_named():
    with pytest.raises(ConfigError, match="weight_source='shared'.*copy.*tied.*ema"):
        build('shared')


def test_tied_aux_net_outside_its_binding_says_so():
    learner = build('tied')
    data = learner.data_preprocessor(batch(), True)
    with pytest.raises(RuntimeError, match='tied weights.*aux_weights'):
        learner.aux_nets[0](torch.randn(2, 128, 8, 8), {}, data['data_samples'])


@pytest.mark.parametrize('weight_source', ['copy', 'tied', 'ema'])
def test_load_from_a_stock_checkpoint_recopies_the_aux_nets(weight_source):
    torch.manual_seed(1)
    assert_load_from_recopies_the_aux_nets(build(weight_source), build_detector(tiny_detector('faster_rcnn')))


def test_paramwise_custom_keys_reach_the_copies_by_the_names_of_the_parts_they_copy():
    """``custom_keys={'backbone': ...}`` of a stock config: the copied backbone blocks of the auxiliary nets get the
    backbone's settings, the copied heads do not."""
    from mmengine.optim import build_optim_wrapper
    learner = build('copy')
    ow = build_optim_wrapper(learner, dict(
        constructor='LocalOptimWrapperConstructor', optimizer=dict(type='SGD', lr=0.1),
        paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.5)})))
    lr = {id(p): g['lr'] for w in ow.values() for g in w.optimizer.param_groups for p in g['params']}
    trunk, heads = learner.aux_nets[0].trunk, learner.aux_nets[0].detector
    assert {lr[id(p)] for p in trunk.parameters()} == {0.05}
    assert {lr[id(p)] for p in heads.parameters()} == {0.1}
    assert {lr[id(p)] for p in learner.architecture.backbone.layer3.parameters()} == {0.05}
