"""The local-learning engine on a tiny 4-stage CNN: exactness, isolation, memory, bank, optimizer split."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, build_optim_wrapper

from fba_mm.core import ActivationMemoryMeter, ConfigError, FeatureBank, LocalOptimWrapperDict, StepMemory

from isolation import assert_gradients_isolated, train_step_grads
from toy_task import ToyCNN, ToyLocalCNN

SPLIT4 = ['stages.1', 'stages.2', 'stages.3']
LOCAL_OPTIM = dict(constructor='LocalOptimWrapperConstructor',
                   optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))


def batch(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=torch.randn(n, 3, size, size, generator=g), data_samples=torch.arange(n) % 4)


def test_k1_is_exactly_end_to_end():
    torch.manual_seed(0)
    stock = ToyCNN()
    learner = ToyLocalCNN(copy.deepcopy(stock), split_points=[])
    assert learner.num_modules == 1
    stock_ow = build_optim_wrapper(stock, dict(optimizer=LOCAL_OPTIM['optimizer']))
    local_ow = build_optim_wrapper(learner, LOCAL_OPTIM)
    for i in range(5):
        stock.train_step(batch(seed=i), stock_ow)
        learner.train_step(batch(seed=i), local_ow)
    stock_state = stock.state_dict()
    learner_state = learner.architecture.state_dict()
    assert stock_state.keys() == learner_state.keys()
    for key, value in stock_state.items():
        assert torch.equal(value, learner_state[key]), key
    # the comparison is not vacuous: training moved the parameters
    assert not torch.equal(stock.head.weight, ToyCNN().head.weight)


def test_gradients_isolated_per_module():
    torch.manual_seed(0)
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=['stages.1', 'stages.3'])  # K=3
    assert_gradients_isolated(learner, batch, atol=1e-7, rtol=1e-5)

    # the check can fail: an end-to-end gradient of module 1 (all losses, no detach) differs from what it got
    ow, captured = train_step_grads(learner, batch())
    data = batch()
    feature = learner.forward_prefix(data['inputs'])
    total = 0
    for k in range(3):
        feature, losses = learner.forward_local(k, feature, data['data_samples'])
        total = total + sum(losses.values())
    learner.feature_bank.clear()
    e2e = torch.autograd.grad(total, ow['m1'].optimizer.param_groups[0]['params'], allow_unused=True)
    assert not all(torch.allclose(a, b) for a, b in zip(captured['m1'], e2e) if a is not None)


def test_activation_memory_k4_below_half_of_end_to_end():
    torch.manual_seed(0)
    arch = dict(type='ToyCNN', channels=(16, 32, 64, 128), strides=(1, 2, 1, 2))
    stock = ToyLocalCNN(arch, split_points=[]).architecture
    learner = ToyLocalCNN(copy.deepcopy(stock), split_points=SPLIT4)
    data = batch(n=8, size=64)

    e2e_ow = build_optim_wrapper(stock, dict(optimizer=dict(type='SGD', lr=0.01)))
    with ActivationMemoryMeter(stock) as e2e:
        stock.train_step(data, e2e_ow)
    local_ow = build_optim_wrapper(learner, LOCAL_OPTIM)
    with ActivationMemoryMeter(learner) as local:
        learner.train_step(data, local_ow)

    assert e2e.peak_bytes > 1e6  # the meter saw the activations at all
    assert local.peak_bytes < 0.5 * e2e.peak_bytes
    assert e2e.live_bytes == 0 and local.live_bytes == 0  # everything saved was released after backward
    with learner.observers.watching(StepMemory()):
        log = learner.train_step(data, local_ow)
    assert log['act_mib'].item() == pytest.approx(local.peak_bytes / 2**20)


def test_memory_meter_counts_saved_tensors_exactly():
    x = torch.randn(1000, requires_grad=True)  # a leaf that is not a parameter: counted
    w = torch.nn.Parameter(torch.randn(1000))
    meter = ActivationMemoryMeter()
    with meter:
        y = (x * w)       # saves x and w: w is a parameter, skipped
        z = y.exp()       # saves its output (4000 bytes)
        v = z[:10].sin()  # saves a view of z: same storage, counted once
    assert meter.peak_bytes == 4000 + 4000
    v.sum().backward()
    assert meter.live_bytes == 0


def test_feature_bank_detaches_clears_and_switches_off():
    bank = FeatureBank()
    t = torch.randn(2, 3, requires_grad=True) * 2
    bank.push('c3', t)
    assert not bank['c3'].requires_grad and bank['c3'].grad_fn is None
    assert bank.nbytes() == 24 and set(bank.for_aux()) == {'c3'}
    with pytest.raises(KeyError, match='pushed twice'):
        bank.push('c3', t)
    bank.clear()
    assert bank.for_head() == {}
    off = FeatureBank(enabled=False)
    off.push('c3', t)
    assert off.for_aux() == {} and torch.equal(off['c3'], t.detach())  # the real head still reads it


def test_train_step_empties_bank_and_no_bank_ablation_trains():
    torch.manual_seed(0)
    on = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    off = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4, use_bank=False)
    assert off.aux_nets[2].linear.in_features < on.aux_nets[2].linear.in_features
    for model in (on, off):
        ow = build_optim_wrapper(model, LOCAL_OPTIM)
        losses = [model.train_step(batch(seed=0), ow)['loss'].item() for _ in range(15)]
        assert model.feature_bank.for_head() == {}
        assert losses[-1] < 0.5 * losses[0]


def test_optimizer_split_per_module_keeps_paramwise_options():
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    ow = build_optim_wrapper(learner, dict(LOCAL_OPTIM, paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=0.1)}),
                                           clip_grad=dict(max_norm=1.0)))
    assert isinstance(ow, LocalOptimWrapperDict) and list(ow.keys()) == ['m1', 'm2', 'm3', 'm4']
    trained = {id(p) for w in ow.values() for g in w.optimizer.param_groups for p in g['params']}
    assert trained == {id(p) for p in learner.parameters() if p.requires_grad}
    head_lrs = [g['lr'] for g in ow['m4'].optimizer.param_groups
                if any(p is learner.architecture.head.weight for p in g['params'])]
    assert head_lrs == [pytest.approx(0.005)]
    assert all(w.clip_grad_kwargs == dict(max_norm=1.0) for w in ow.values())


def test_counters_survive_resume():
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    ow = build_optim_wrapper(learner, dict(LOCAL_OPTIM, accumulative_counts=2))
    ow.initialize_count_status(learner, 7, 20)
    assert all(w._inner_count == 7 and w._max_counts == 20 for w in ow.values())


@pytest.mark.parametrize('split, message', [
    (['stages.1', 'stage.2'], r"split_points\[1\]='stage.2' is not a block.*Did you mean"),
    (['stages.2', 'stages.1'], r"split_points\[1\]='stages.1' comes before split_points\[0\]='stages.2'"),
    (['stages.2', 'stages.2.0'], r"split_points\[1\]='stages.2.0' is the same cut as split_points\[0\]"),
    (['stages.0.0'], r"split_points\[0\]='stages.0.0' cuts at or before 'stages.0.0'.*would train nothing"),
    ('stages.2', r'split_points must be a list'),
    (9, r'split_points=9 asks for K=9 modules, but this network has 8 trainable blocks'),
])
def test_bad_split_points_name_the_key_and_the_fix(split, message):
    with pytest.raises(ConfigError, match=message):
        ToyLocalCNN(dict(type='ToyCNN'), split_points=split)


def test_frozen_module_is_refused():
    # freezing stage 0 makes it part of the prefix: a cut right after it leaves nothing to train before
    arch = ToyCNN()
    arch.stages[0].requires_grad_(False)
    with pytest.raises(ConfigError, match=r"split_points\[0\]='stages.1' cuts at or before 'stages.1.0'"):
        ToyLocalCNN(arch, split_points=['stages.1'])


def test_trainable_parameter_in_prefix_is_refused():
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    learner.architecture.stem.requires_grad_(True)  # trainable, but the prefix runs without gradients
    with pytest.raises(ConfigError, match=r'belong to no local module.*architecture\.stem\.0\.weight'):
        build_optim_wrapper(learner, LOCAL_OPTIM)


@pytest.mark.parametrize('optim_cfg, message', [
    (dict(constructor='LocalOptimWrapperConstructor', m1=dict(optimizer=dict(type='SGD', lr=0.1))),
     r'optim_wrapper has no "optimizer" key.*splits ONE stock optimizer'),
    (dict(constructor='LocalOptimWrapperConstructor', optimizer=dict(type='NoSuchOptimizer', lr=0.1)),
     r"optim_wrapper.optimizer=.*NoSuchOptimizer.*could not be built"),
])
def test_unsplittable_optimizer_config_is_refused(optim_cfg, message):
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    with pytest.raises(ConfigError, match=message):
        build_optim_wrapper(learner, optim_cfg)


def test_stock_optimizer_on_a_learner_is_refused_at_the_first_step():
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    ow = OptimWrapper(torch.optim.SGD(learner.parameters(), lr=0.1))
    with pytest.raises(ConfigError, match="runner_type='LocalLearningRunner'.*constructor='LocalOptimWrapper"):
        learner.train_step(batch(), ow)


def test_learner_loads_a_stock_checkpoint():
    stock = ToyCNN()
    learner = ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4)
    learner.load_state_dict(stock.state_dict(), strict=False)
    assert torch.equal(learner.architecture.head.weight, stock.head.weight)


def test_benchmark_measures_both_ways_alike():
    from fba_mm.core.benchmark import measure_training
    arch = dict(type='ToyCNN', channels=(16, 32, 64, 128), strides=(1, 2, 1, 2))
    torch.manual_seed(0)
    stock = ToyLocalCNN(arch, split_points=[]).architecture
    learner = ToyLocalCNN(copy.deepcopy(stock), split_points=SPLIT4)
    data = batch(n=8, size=64)
    e2e = measure_training(stock, build_optim_wrapper(stock, dict(optimizer=dict(type='SGD', lr=0.01))), data,
                           warmup=1, iters=1)
    local = measure_training(learner, build_optim_wrapper(learner, LOCAL_OPTIM), data, warmup=1, iters=1)
    with ActivationMemoryMeter(learner) as meter:  # the outer meter agrees with the learner's own spans
        learner.train_step(batch(n=8, size=64), build_optim_wrapper(learner, LOCAL_OPTIM))
    assert local['activation_mib'] == pytest.approx(meter.peak_mib)
    assert local['activation_mib'] == max(local['module_activation_mib'].values())
    assert local['activation_mib'] < 0.5 * e2e['activation_mib']
    assert local['params_mib'] > e2e['params_mib']  # the auxiliary nets
    assert e2e['sec_per_iter'] > 0 and not learner.observers
