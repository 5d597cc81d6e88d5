"""Local learning on stock mmagic SR editors (EDSR, MSRResNet, RCAN with few channels, random init)."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from fba_mm.core import ConfigError, strip_to_architecture
from fba_mm.sr import LocalLearningEditor

from isolation import assert_gradients_isolated, train_step_grads
from sr_helpers import BODY, build_editor, sr_batch, tiny_editor

ADAM = dict(type='Adam', lr=1e-3)


def local_optim(model, optimizer=ADAM):
    return build_optim_wrapper(model, dict(constructor='LocalOptimWrapperConstructor', optimizer=optimizer))


@pytest.mark.parametrize('k', [2, 4])
@pytest.mark.parametrize('name', ['edsr', 'msrresnet', 'rcan'])
def test_editor_trains_with_isolated_gradients(name, k):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=k)
    learner.init_weights()
    assert learner.num_modules == k and len(learner.aux_nets) == k - 1
    assert learner.module_blocks(0)[0] == f'{BODY[name]}.0'
    assert_gradients_isolated(learner, lambda: sr_batch(name))


@pytest.mark.parametrize('name', ['edsr', 'msrresnet', 'rcan'])
def test_training_lowers_every_local_loss(name):
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor(name), split_points=4)
    learner.init_weights()
    ow = local_optim(learner, dict(type='Adam', lr=3e-3))
    batch = sr_batch(name, n=4, size=16)
    for lr, sample in zip(batch['inputs'], batch['data_samples']):  # a target the nets can learn: smooth upscaling
        sample.gt_img = torch.nn.functional.interpolate(lr[None], size=sample.gt_img.shape[-2:], mode='bilinear')[0]
    first = learner.train_step(batch, ow)
    for _ in range(15):
        last = learner.train_step(batch, ow)
    for key in ('m1.loss', 'm2.loss', 'm3.loss', 'm4.loss'):
        assert last[key] < 0.8 * first[key], (key, float(first[key]), float(last[key]))


def test_k1_equals_stock_training():
    torch.manual_seed(0)
    stock = build_editor(tiny_editor('edsr'))
    learner = LocalLearningEditor(copy.deepcopy(stock), split_points=[])
    stock_ow = build_optim_wrapper(stock, dict(optimizer=ADAM))
    local_ow = local_optim(learner)
    for i in range(3):
        stock.train_step(sr_batch(seed=i), stock_ow)
        learner.train_step(sr_batch(seed=i), local_ow)
    for key, value in stock.state_dict().items():
        assert torch.equal(value, learner.architecture.state_dict()[key]), key


def test_checkpointed_k1_trains_like_stock():
    """with_cp (the e2e-with-checkpointing baseline) recomputes activations; the gradients stay the same."""
    torch.manual_seed(0)
    stock = build_editor(tiny_editor('rcan'))
    plain = LocalLearningEditor(copy.deepcopy(stock), split_points=1)
    checkpointed = LocalLearningEditor(copy.deepcopy(stock), split_points=1, with_cp=True)
    _, plain_grads = train_step_grads(plain, sr_batch('rcan'))
    _, checkpointed_grads = train_step_grads(checkpointed, sr_batch('rcan'))
    assert len(plain_grads['m1']) == len(list(stock.parameters()))
    for a, b in zip(plain_grads['m1'], checkpointed_grads['m1']):
        torch.testing.assert_close(a, b)


def test_feature_bank_carries_the_global_skip():
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('msrresnet'), split_points=2)
    seen = {}
    aux = learner.aux_nets[0]
    aux.register_forward_pre_hook(lambda m, args: seen.__setitem__('skip', args[1]['skip']))
    batch = sr_batch('msrresnet')
    learner.train_step(batch, local_optim(learner))
    lr = learner.data_preprocessor(sr_batch('msrresnet'), True)['inputs']
    torch.testing.assert_close(seen['skip'], lr)  # MSRResNet's skip is the LR input
    # without the bank, module 2's real tail still gets it (the stock model needs it), auxiliary nets do not
    learner = LocalLearningEditor(tiny_editor('edsr'), split_points=4, use_bank=False)
    skips = []
    for aux in learner.aux_nets:
        aux.register_forward_pre_hook(lambda m, args: skips.append(args[1].get('skip')))
    learner.train_step(sr_batch(), local_optim(learner))
    assert skips[0] is not None and skips[1] is None and skips[2] is None  # module 1 computes it itself


def test_converted_checkpoint_gives_the_same_images():
    torch.manual_seed(0)
    cfg = tiny_editor('edsr')
    learner = LocalLearningEditor(cfg, split_points=2)
    learner.init_weights()
    ow = local_optim(learner)
    for i in range(2):
        learner.train_step(sr_batch(seed=i), ow)
    stock = build_editor(cfg)
    stock.load_state_dict(strip_to_architecture(learner.state_dict()), strict=True)
    learner.eval(), stock.eval()
    with torch.no_grad():
        ours = learner.test_step(sr_batch(seed=5))
        theirs = stock.test_step(sr_batch(seed=5))
    for a, b in zip(ours, theirs):
        assert torch.equal(a.output.pred_img, b.output.pred_img)


def test_aux_copies_start_from_the_main_weights():
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('edsr'), split_points=['body.2'], aux_net=dict(type='SLMAuxNet', depth=1))
    learner.init_weights()
    gen, aux = learner.generator, learner.aux_nets[0]
    copied = aux.trunk.get_submodule('body.2')
    assert torch.equal(copied.conv1.weight, gen.body[2].conv1.weight)  # the next block, aligned
    assert torch.equal(aux.tail.upsample[0].upsample_conv.weight, gen.upsample[0].upsample_conv.weight)
    assert copied.conv1.weight.data_ptr() != gen.body[2].conv1.weight.data_ptr()  # a copy, trained apart


def test_unsupported_generator_is_refused():
    cfg = tiny_editor('edsr')
    cfg['generator'] = dict(type='SRCNNNet', channels=(3, 8, 8, 3), kernel_sizes=(9, 1, 5), upscale_factor=2)
    supported = 'EDSRNet, MSRResNet, RCANNet, RDNNet, RRDBNet, SwinIRNet'  # SR layouts only, not backbones
    with pytest.raises(ConfigError, match=f'generator SRCNNNet has no layout.*registered for: {supported}\\. '):
        LocalLearningEditor(cfg, split_points=2)


@pytest.mark.parametrize('split, message', [
    (['body.9'], r"split_points\[0\]='body.9' is not a block.*EDSRNet has 4 body blocks"),
    (['body.2', 'body.1'], 'comes before'),
    (9, r'split_points=9 asks for K=9 modules, but this network has 4 trainable blocks.*EDSRNet has 4 body blocks'),
])
def test_bad_split_is_refused(split, message):
    with pytest.raises(ConfigError, match=message):
        LocalLearningEditor(tiny_editor('edsr'), split_points=split)


@pytest.mark.parametrize('aux_net', ['SLMAuxNet', 'DGLAuxNet'])
def test_predict_by_module_is_what_each_loss_scores(aux_net):
    # the last prediction is the stock generator's output; auxiliary net k's is what its L1 loss compares with
    torch.manual_seed(0)
    learner = LocalLearningEditor(tiny_editor('edsr'), split_points=3, aux_net=dict(type=aux_net))
    learner.init_weights()
    learner.eval()
    data = learner.data_preprocessor(sr_batch('edsr', n=2, size=12), False)
    x, samples = data['inputs'], data['data_samples']
    predictions = learner.predict_by_module(x)
    assert len(predictions) == 3 and all(p.shape == samples.gt_img.shape for p in predictions)
    torch.testing.assert_close(predictions[-1], learner.architecture.generator(x), rtol=0, atol=0)
    learner.feature_bank.clear()
    feat = x
    for k in range(2):
        feat, losses = learner.forward_local(k, feat, samples)
        expected = torch.nn.functional.l1_loss(predictions[k], samples.gt_img)
        torch.testing.assert_close(losses['loss'], expected)
    assert not torch.allclose(predictions[0], predictions[-1])  # the auxiliary outputs are their own
