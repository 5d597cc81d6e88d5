"""SLM's weight sources for SR generators: trained copies, tied (the main parts, detached) and EMA copies."""
import pytest
import torch

from fba_mm.sr import LocalLearningEditor

from isolation import assert_gradients_isolated
from sr_helpers import build_editor, sr_batch, tiny_editor
from weight_sources import (
    assert_aux_backward_reaches_module_k_only,
    assert_ema_follows_the_main_weights,
    assert_ema_moves_once_per_optimizer_step,
    assert_load_from_recopies_the_aux_nets,
    assert_no_optimizer_state_beyond_the_architecture,
)


def build(weight_source, name='edsr', **knobs):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=4,
                                  aux_net=dict(type='SLMAuxNet', weight_source=weight_source, **knobs))
    learner.init_weights()
    return learner.train()


@pytest.mark.parametrize('name', ['edsr', 'msrresnet'])
@pytest.mark.parametrize('weight_source', ['tied', 'ema'])
def test_tied_and_ema_train_with_isolated_gradients(weight_source, name):
    assert_gradients_isolated(build(weight_source, name), lambda: sr_batch(name))


@pytest.mark.parametrize('weight_source', ['tied', 'ema'])
def test_tied_and_ema_add_no_optimizer_state(weight_source):
    learner = build(weight_source)
    assert_no_optimizer_state_beyond_the_architecture(learner)
    if weight_source == 'tied':
        assert sum(p.numel() for p in learner.aux_nets.parameters()) == 0


def test_tied_local_loss_reaches_module_k_only():
    assert_aux_backward_reaches_module_k_only(build('tied', with_cp=True), sr_batch, 1)


def test_ema_copies_follow_the_main_weights():
    assert_ema_follows_the_main_weights(build('ema', ema_momentum=0.9), sr_batch, 0.9)


def test_ema_moves_once_per_optimizer_step_under_accumulation():
    assert_ema_moves_once_per_optimizer_step(build('ema', ema_momentum=0.5), sr_batch, 0.5)


@pytest.mark.parametrize('weight_source', ['copy', 'tied', 'ema'])
def test_load_from_a_stock_checkpoint_recopies_the_aux_nets(weight_source):
    torch.manual_seed(1)
    assert_load_from_recopies_the_aux_nets(build(weight_source), build_editor(tiny_editor('edsr')))
