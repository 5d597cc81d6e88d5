"""Local learning on mmagic's RRDBNet (ESRGAN), RDNNet and SwinIRNet (few channels and blocks, random init)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError, find_layout, local_learning_defaults, module_name, stock_checkpoint
from fba_mm.sr import LocalLearningEditor

from isolation import assert_gradients_isolated
from sr_helpers import BODY, GENERATORS, build_editor, sr_batch, tiny_editor
from weight_sources import assert_aux_backward_reaches_module_k_only

NEW = ['rrdb', 'rdn', 'swinir']
SIZE = 8  # LR patches: two 4x4 windows of the tiny SwinIR
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs', 'sr')


def editor_cfg(name, **generator):
    cfg = tiny_editor(name)
    cfg['generator'].update(generator)
    return cfg


def learner_of(name, split_points=4, cfg=None, **kwargs):
    torch.manual_seed(0)
    learner = LocalLearningEditor(cfg or tiny_editor(name), split_points=split_points, **kwargs)
    learner.init_weights()
    return learner


def batch(name, seed=0, **kwargs):
    return sr_batch(name, size=SIZE, seed=seed, **kwargs)


def local_optim(model, optimizer=dict(type='Adam', lr=1e-3)):
    return build_optim_wrapper(model, dict(constructor='LocalOptimWrapperConstructor', optimizer=optimizer))


# ---------------------------------------------------------------------------------------------- the layouts
@pytest.mark.parametrize('name, generator, size', [
    ('rrdb', {}, (8, 8)),
    ('rrdb', dict(upscale_factor=2), (8, 12)),  # x1/x2: pixel-unshuffled input
    ('rdn', {}, (7, 9)),
    ('swinir', {}, (8, 8)),
    ('swinir', {}, (7, 9)),  # padded to the window size, cropped back
    ('swinir', dict(upsampler='pixelshuffle'), (7, 9)),
    ('swinir', dict(upsampler='pixelshuffledirect'), (8, 8)),
    ('swinir', dict(upsampler='nearest+conv', upscale=4), (8, 8)),
    ('swinir', dict(upsampler='', upscale=1), (7, 9)),  # denoising: the input is added back
])
def test_layout_runs_the_generator_exactly(name, generator, size):
    """stem -> every block -> tail, as the learner runs them, gives the generator's own output, bit for bit."""
    torch.manual_seed(0)
    g = build_editor(editor_cfg(name, **generator)).generator.eval()
    layout = find_layout(g)
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        feat, bank = layout.forward_stem(g, x)
        feat = layout.run_blocks(g, layout.blocks(g), feat, bank)
        outputs = [bank[name] for name in layout.blocks(g)] if layout.bank_carries_blocks else None
        ours = layout.forward_tail(g, feat, bank['skip'], outputs)
        assert torch.equal(ours, g(x))


@pytest.mark.parametrize('name', NEW)
def test_learner_tests_like_the_stock_editor(name):
    learner = learner_of(name)
    stock = build_editor(tiny_editor(name))
    stock.load_state_dict(learner.architecture.state_dict(), strict=True)
    learner.eval(), stock.eval()
    data = batch(name, seed=3, width=SIZE + 3)
    with torch.no_grad():
        for ours, theirs in zip(learner.test_step(data) + learner.val_step(data),
                                stock.test_step(data) + stock.val_step(data)):
            assert torch.equal(ours.output.pred_img, theirs.output.pred_img)


# ---------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', NEW)
def test_trains_with_isolated_gradients(name, k):
    learner = learner_of(name, k)
    assert learner.num_modules == k and learner.module_blocks(0)[0] == f'{BODY[name]}.0'
    assert_gradients_isolated(learner, lambda: batch(name))


STRATEGIES = {
    'slm_depth0_copy': dict(aux_net=dict(type='SLMAuxNet', depth=0, weight_source='copy')),
    'slm_depth0_tied': dict(aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied')),
    'slm_depth1_tied': dict(aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied')),
    'slm_depth1_ema': dict(aux_net=dict(type='SLMAuxNet', depth=1, weight_source='ema')),
    'slm_nobank': dict(aux_net=dict(type='SLMAuxNet', depth=1), use_bank=False),
    'augloc': dict(aux_net=dict(type='AugLocAuxNet', max_depth=2), use_bank=False),
    'dgl': dict(aux_net=dict(type='DGLAuxNet', num_convs=1), use_bank=False),
}


@pytest.mark.parametrize('strategy', sorted(STRATEGIES))
@pytest.mark.parametrize('name', NEW)
def test_aux_strategy_trains_with_isolated_gradients(name, strategy):
    if name == 'rdn' and strategy == 'dgl':
        with pytest.raises(ConfigError, match='DGLAuxNet does not apply to RDNNet.*fuses the output of every'):
            learner_of(name, **STRATEGIES[strategy])
        return
    learner = learner_of(name, **STRATEGIES[strategy])
    assert_gradients_isolated(learner, lambda: batch(name))
    if strategy.endswith('tied'):  # no gradient to the main parts, no main BN/attention buffers moved
        assert sum(p.numel() for p in learner.aux_nets.parameters()) == 0
        assert_aux_backward_reaches_module_k_only(learner.train(), lambda: batch(name), 1)


@pytest.mark.parametrize('name', NEW)
def test_k1_equals_stock_training(name):
    torch.manual_seed(0)
    stock = build_editor(tiny_editor(name))
    learner = LocalLearningEditor(copy.deepcopy(stock), split_points=[])
    stock_ow = build_optim_wrapper(stock, dict(optimizer=dict(type='Adam', lr=1e-3)))
    local_ow = local_optim(learner)
    for i in range(3):
        torch.manual_seed(i)  # SwinIR's stochastic depth draws the same masks in both
        stock.train_step(batch(name, seed=i), stock_ow)
        torch.manual_seed(i)
        learner.train_step(batch(name, seed=i), local_ow)
    for key, value in stock.state_dict().items():
        assert torch.equal(value, learner.architecture.state_dict()[key]), key


@pytest.mark.parametrize('name', ['rdn', 'swinir'])
def test_checkpointed_blocks_give_the_same_gradients(name):
    """with_cp on RDN's block list and on SwinIR's (tokens, x_size) blocks."""
    from isolation import train_step_grads
    plain, checkpointed = learner_of(name, 1), learner_of(name, 1, with_cp=True)
    _, a = train_step_grads(plain, batch(name))
    _, b = train_step_grads(checkpointed, batch(name))
    for x, y in zip(a['m1'], b['m1']):
        torch.testing.assert_close(x, y)


@pytest.mark.parametrize('name', NEW)
def test_stripped_checkpoint_loads_into_the_stock_editor(name):
    learner = learner_of(name, aux_net=dict(type='SLMAuxNet', depth=1))
    ow = local_optim(learner)
    for i in range(2):
        learner.train_step(batch(name, seed=i), ow)
    ckpt = stock_checkpoint(dict(meta=dict(iter=2), state_dict=learner.state_dict()))
    assert not any(key.startswith('aux_nets.') for key in ckpt['state_dict'])
    stock = build_editor(tiny_editor(name))
    stock.load_state_dict(ckpt['state_dict'], strict=True)
    learner.eval(), stock.eval()
    with torch.no_grad():
        for ours, theirs in zip(learner.test_step(batch(name, seed=5)), stock.test_step(batch(name, seed=5))):
            assert torch.equal(ours.output.pred_img, theirs.output.pred_img)


# ---------------------------------------------------------------------------------------------- RDN and the bank
@pytest.mark.parametrize('use_bank', [True, False])
def test_rdn_fusion_reads_earlier_blocks_from_the_bank(use_bank):
    """K=4 over 4 RDBs (one per module): the bank carries rdbs.0..2; zeroing them changes the real loss (the real
    tail always reads them) and, with the bank, the auxiliary losses of modules 2 and 3 (without it they get zeros
    anyway); module 1's auxiliary net has no earlier blocks."""
    learner = learner_of('rdn', use_bank=use_bank, aux_net=dict(type='SLMAuxNet', depth=1))
    ow = local_optim(learner, dict(type='SGD', lr=0.0))  # nothing moves: both steps see the same weights
    bank = learner.feature_bank
    pushed, push = [], bank.push

    def zeroing_push(key, feature):
        pushed.append(key)
        push(key, torch.zeros_like(feature) if key.startswith('rdbs.') else feature)

    real = learner.train_step(batch('rdn'), ow)
    bank.push = zeroing_push
    try:
        zeroed = learner.train_step(batch('rdn'), ow)
    finally:
        bank.push = push
    assert pushed == ['skip', 'rdbs.0', 'rdbs.1', 'rdbs.2']
    assert real['m1.loss'] == zeroed['m1.loss']
    assert real['m4.loss'] != zeroed['m4.loss']
    for k in (1, 2):
        changed = real[f'{module_name(k)}.loss'] != zeroed[f'{module_name(k)}.loss']
        assert bool(changed) == use_bank, module_name(k)


def test_rdn_aux_net_fills_the_blocks_it_does_not_run_with_zeros():
    """Module 1 of K=2 ends at rdbs.1: depth=1 copies rdbs.2 into its slot, rdbs.3 is zeros."""
    learner = learner_of('rdn', 2, aux_net=dict(type='SLMAuxNet', depth=1))
    aux = learner.aux_nets[0]
    assert aux.copied_blocks == ['rdbs.2']
    fused = []
    aux.tail.gff.register_forward_pre_hook(lambda m, args: fused.append(args[0]))
    learner.train_step(batch('rdn'), local_optim(learner))
    c = GENERATORS['rdn']['mid_channels']
    parts = fused[0].split(c, dim=1)
    assert len(parts) == 4 and all(p.abs().sum() > 0 for p in parts[:3]) and not parts[3].any()


def test_swinir_absolute_position_embedding_is_refused():
    with pytest.raises(ConfigError, match=r'SwinIRNet\(ape=True\) is not supported'):
        LocalLearningEditor(editor_cfg('swinir', ape=True), split_points=2)


# ---------------------------------------------------------------------------------------------- the configs
@pytest.mark.parametrize('config, generator', [
    ('esrgan_psnr-x4c64b23g32_fba-k4_1xb16-1000k_div2k.py', dict(mid_channels=4, growth_channels=2)),
    ('rdn_x2c64b16_fba-k4_1xb16-1000k_div2k.py', dict(mid_channels=4, channel_growth=2, num_layers=1)),
    ('swinir_psnr-x2s64w8d6e180_fba-k4_8xb4-lr1e-4-600k_df2k-ost.py',
     dict(embed_dim=8, depths=[1] * 6, num_heads=[2] * 6, img_size=SIZE, window_size=4)),
    ('swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py',
     dict(embed_dim=8, depths=[1] * 6, num_heads=[2] * 6, img_size=SIZE, window_size=4)),
])
def test_k4_config_builds_and_trains(config, generator):
    """The stock generator's block count and the config's split, aux net and optimizer; tiny widths."""
    from mmagic.registry import MODELS
    from mmengine.registry import DefaultScope
    cfg = local_learning_defaults(Config.fromfile(osp.join(CONFIGS, config)))  # what its runner_type fills in
    assert cfg.model.type == 'LocalLearningEditor' and cfg.model_wrapper_cfg.type == 'LocalDistributedDataParallel'
    assert cfg.default_hooks.local_learning.type == 'LocalLearningHook'
    assert cfg.log_processor.type == 'LocalLogProcessor'
    assert any(h.type == 'BasicVisualizationHook' for h in cfg.custom_hooks)  # the stock config's hooks stay
    cfg.model.architecture.generator.update(generator)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmagic'):
        learner = MODELS.build(cfg.model)
    learner.init_weights()
    assert learner.num_modules == 4
    ow = build_optim_wrapper(learner, cfg.optim_wrapper)
    g = cfg.model.architecture.generator
    scale = g.get('upscale_factor', g.get('upscale'))
    from fba_mm.sr.testing import random_sr_batch
    logs = learner.train_step(random_sr_batch(1, SIZE, scale=scale), ow)
    assert all(torch.isfinite(logs[f'm{k}.loss']) for k in range(1, 5))
