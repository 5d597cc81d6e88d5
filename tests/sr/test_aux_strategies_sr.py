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


@pytest.mark.parametrize('name', ['edsr', 'rdn', 'swinir'])
def test_a_cropped_aux_net_trains_its_module_alone(name):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.5))
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: sr_batch(name, size=16))


def test_a_swinir_window_is_whole_attention_windows_of_the_token_grid():
    """SwinIR's body state is tokens on a grid: the window is cut from the grid (and the bank's skip and the target
    alike), its sides and corner on multiples of window_size, so each RSTB attends within the patch's own windows."""
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('swinir'), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.3))
    aux, unit, c = learner.aux_nets[0], 4, 12
    grid = torch.randn(1, 16, 16, c)
    skip, target = torch.randn(1, c, 16, 16), torch.randn(1, 3, 32, 32)
    seen = set()
    for _ in range(200):
        (tokens, x_size, size), features, window_target = aux.random_crop(
            (grid.reshape(1, 256, c), (16, 16), (16, 16)), {'skip': skip}, target)
        assert x_size == size == (unit, unit)  # 0.3 x 16 = 4.8 sides, rounded to whole windows
        hits = [(top, left) for top in range(0, 13) for left in range(0, 13)
                if torch.equal(tokens.view(unit, unit, c), grid[0, top:top + unit, left:left + unit])]
        assert len(hits) == 1 and hits[0][0] % unit == 0 and hits[0][1] % unit == 0
        (top, left), = hits
        assert torch.equal(features['skip'], skip[..., top:top + unit, left:left + unit])
        assert torch.equal(window_target, target[..., 2 * top:2 * (top + unit), 2 * left:2 * (left + unit)])
        seen.add((top, left))
    assert len(seen) == 16  # every window position of the grid is visited


def test_swinir_crop_is_refused_on_a_padded_patch():
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('swinir'), split_points=2, aux_net=dict(type='SLMAuxNet', crop=0.5))
    with pytest.raises(ConfigError, match=r'multiples of window_size=4; this one \(10x10\) is padded to 12x12'):
        learner.aux_nets[0].random_crop((torch.zeros(1, 144, 12), (12, 12), (10, 10)), {}, torch.zeros(1, 3, 20, 20))
