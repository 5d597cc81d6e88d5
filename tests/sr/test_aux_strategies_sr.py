"""Every auxiliary-net strategy (slm, slm_nobank, dgl, augloc) trains an SR editor with isolated gradients."""
import pytest
import torch

from fba_mm.core import ConfigError
from fba_mm.sr import LocalLearningEditor

from isolation import assert_gradients_isolated
from sr_helpers import sr_batch, tiny_editor

STRATEGIES = {
    'slm': dict(aux_net=dict(type='SLMAuxNet')),
    'slm_nobank': dict(aux_net=dict(type='SLMAuxNet'), use_bank=False),
    'dgl': dict(aux_net=dict(type='DGLAuxNet'), use_bank=False),
    'augloc': dict(aux_net=dict(type='AugLocAuxNet'), use_bank=False),
}


@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', ['edsr', 'msrresnet'])
@pytest.mark.parametrize('strategy', sorted(STRATEGIES))
def test_strategy_trains_with_isolated_gradients(strategy, name, k):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=k, **STRATEGIES[strategy])
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: sr_batch(name))


def test_dgl_sees_the_live_feature_alone():
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('edsr'), split_points=2, aux_net=dict(type='DGLAuxNet', num_convs=2))
    aux = learner.aux_nets[0]
    assert not hasattr(aux, 'trunk') and len(aux.convs) == 4  # two conv+ReLU, no copied body blocks
    data = learner.data_preprocessor(sr_batch(), True)
    feat = torch.randn(2, 8, 12, 12)
    with_skip = aux(feat, {'skip': torch.randn(2, 8, 12, 12)}, data['data_samples'])['loss']
    without = aux(feat, {}, data['data_samples'])['loss']
    assert torch.equal(with_skip, without)


def test_augloc_depth_shrinks_and_its_layers_are_fresh():
    torch.manual_seed(0)
    cfg = tiny_editor('edsr')
    cfg['generator']['num_blocks'] = 8
    learner = LocalLearningEditor(cfg, split_points=4, aux_net=dict(type='AugLocAuxNet', max_depth=3), use_bank=False)
    learner.init_weights()
    # K=4: modules end at body.1, .3, .5; depths 3, 2, 1 sampled evenly from the blocks after each
    assert [a.sampled_blocks for a in learner.aux_nets] == [['body.2', 'body.5', 'body.7'], ['body.4', 'body.7'],
                                                            ['body.6']]
    aux, gen = learner.aux_nets[0], learner.generator
    copied = aux.trunk.get_submodule('body.2')
    assert not torch.equal(copied.conv1.weight, gen.body[2].conv1.weight)  # fresh, not copied
    assert not torch.equal(aux.tail.conv_last.weight, gen.conv_last.weight)


def test_augloc_bad_depth_is_refused():
    with pytest.raises(ConfigError, match='min_depth=2, max_depth=1'):
        LocalLearningEditor(tiny_editor('edsr'), split_points=2,
                            aux_net=dict(type='AugLocAuxNet', max_depth=1, min_depth=2))


def test_a_cropped_aux_net_predicts_the_same_window_of_the_same_target():
    """aux_net.crop: the window of the live feature, of the bank's skip and of the HR target line up: away from the
    window's border (where its convs pad with zeros) the auxiliary net predicts what it predicts on the whole patch."""
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('edsr'), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.5))
    learner.init_weights()
    aux = learner.aux_nets[0]
    feat, skip = torch.randn(1, 8, 32, 32), torch.randn(1, 8, 32, 32)
    target = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        whole = aux.predict(feat, {'skip': skip})
        window_feat, window_features, window_target = aux.random_crop(feat, {'skip': skip}, torch.cat([target, whole],
                                                                                                       1))
        window = aux.predict(window_feat, window_features)
    assert window_feat.shape[-2:] == (16, 16) and window_target.shape[-2:] == (32, 32)
    m = 12  # HR pixels the zero padding can reach: 5 LR convs at x2
    torch.testing.assert_close(window[..., m:-m, m:-m], window_target[:, 3:, m:-m, m:-m])


@pytest.mark.parametrize('name', ['edsr', 'rdn'])
def test_a_cropped_aux_net_trains_its_module_alone(name):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.5))
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: sr_batch(name, size=16))


def test_crop_is_refused_where_the_body_passes_tokens():
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('swinir'), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.5))
    with pytest.raises(ConfigError, match='crop=0.5 needs a feature map.*SwinIRLayout.*use crop=1'):
        learner.aux_nets[0].random_crop((torch.zeros(1, 4, 12), (2, 2), (2, 2)), {}, torch.zeros(1, 3, 4, 4))
