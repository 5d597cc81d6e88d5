"""One module's fault stays in that module, isolation leaks are caught while training, clipping is per module."""
import copy
import math

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from fba_mm.core.isolation import GradientLeakError, IsolationGuard

from isolation import assert_gradients_isolated
from toy_task import ToyLocalCNN

SPLIT4 = ['stages.1', 'stages.2', 'stages.3']
OPTIM = dict(constructor='LocalOptimWrapperConstructor', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))


def batch(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=torch.randn(n, 3, size, size, generator=g), data_samples=torch.arange(n) % 4)


def build(**kwargs):
    torch.manual_seed(0)
    return ToyLocalCNN(dict(type='ToyCNN'), split_points=SPLIT4, **kwargs)


def poison(learner, modules, monkeypatch):
    """The local losses of ``modules`` (0-based) become NaN, as when an auxiliary net diverges."""
    real = learner.forward_local

    def forward_local(k, feature, labels):
        output, losses = real(k, feature, labels)
        return output, ({n: v * math.nan for n, v in losses.items()} if k in modules else losses)
    monkeypatch.setattr(learner, 'forward_local', forward_local)


def module_weights(learner, ow):
    return {name: [p.detach().clone() for g in w.optimizer.param_groups for p in g['params']] for name, w in ow.items()}


@pytest.mark.parametrize('accumulative_counts', [1, 2])
def test_a_non_finite_loss_skips_that_module_only(monkeypatch, accumulative_counts):
    learner = build()
    ow = build_optim_wrapper(learner, dict(OPTIM, accumulative_counts=accumulative_counts))
    before = module_weights(learner, ow)
    poison(learner, {1}, monkeypatch)
    for _ in range(accumulative_counts):
        log = learner.train_step(batch(), ow)
    after = module_weights(learner, ow)
    assert [log[f'm{k}.skipped'].item() for k in range(1, 5)] == [0, 1, 0, 0]
    assert all(torch.equal(a, b) for a, b in zip(before['m2'], after['m2']))  # m2 did not move (nor got NaN)
    assert all(p.grad is None for g in ow['m2'].optimizer.param_groups for p in g['params'])
    for name in ('m1', 'm3', 'm4'):  # the others trained
        assert any(not torch.equal(a, b) for a, b in zip(before[name], after[name])), name
        assert all(torch.isfinite(p).all() for p in after[name])
    # its counter kept in step with the others, so accumulation windows stay aligned
    assert len({w._inner_count for w in ow.values()}) == 1


@pytest.mark.parametrize('stuck, message', [
    ({3}, 'the real task loss .the last module, with the stock head. has been non-finite for 3 iterations in a row, '
          'so m4 has not trained'),
    ({1}, 'the loss of m2 has been non-finite for 3 iterations in a row')])
def test_a_module_stuck_for_n_iterations_in_a_row_stops_training(monkeypatch, stuck, message):
    """The others training on is right for a passing fault, not for a module that never trains again (the last one
    would leave an untrained task head, and the run would end with warnings only)."""
    learner = build(max_consecutive_skips=3)
    ow = build_optim_wrapper(learner, copy.deepcopy(OPTIM))
    poison(learner, stuck, monkeypatch)
    learner.train_step(batch(), ow)
    learner.train_step(batch(), ow)
    with pytest.raises(FloatingPointError, match=message):
        learner.train_step(batch(), ow)


def test_a_passing_fault_does_not_stop_training(monkeypatch):
    learner = build(max_consecutive_skips=2)
    ow = build_optim_wrapper(learner, copy.deepcopy(OPTIM))
    real = learner.forward_local
    for it in range(6):  # one module poisoned per iteration, in turn: none twice in a row
        monkeypatch.setattr(learner, 'forward_local', real)
        poison(learner, {it % 4}, monkeypatch)
        learner.train_step(batch(), ow)
    assert learner.skip_policy.skipped == [2, 2, 1, 1]


def test_the_isolation_guard_catches_a_removed_detach(monkeypatch):
    learner = build()
    ow = build_optim_wrapper(learner, copy.deepcopy(OPTIM))
    learner.observers.install(IsolationGuard())
    learner.train_step(batch(), ow)  # the real engine passes
    monkeypatch.setattr(learner, 'detach_output', lambda output: output)
    with pytest.raises(GradientLeakError, match='m1 hands the next module tensors that still carry its graph'):
        learner.train_step(batch(), ow)


def test_the_isolation_guard_checks_the_bank_also_when_the_aux_nets_do_not_read_it(monkeypatch):
    """With use_bank=False the auxiliary nets read nothing from the bank, but the real head still does."""
    learner = build(use_bank=False)
    ow = build_optim_wrapper(learner, copy.deepcopy(OPTIM))
    learner.observers.install(IsolationGuard())
    bank = learner.feature_bank
    monkeypatch.setattr(bank, 'push', lambda key, feature: bank._features.__setitem__(key, feature))  # no detach
    with pytest.raises(GradientLeakError, match="m1 hands the next module tensors that still carry its graph"):
        learner.train_step(batch(), ow)


def test_isolation_catches_a_gradient_into_an_earlier_module(monkeypatch):
    """Module 3's loss also reaches a module-1 weight: that gradient lands after m1 stepped and zeroed, so the
    optimizer-step capture alone never saw it. The guard, and so the shared test helper, does."""
    learner = build()
    real = learner.forward_local

    def forward_local(k, feature, labels):
        output, losses = real(k, feature, labels)
        if k == 2:
            losses['loss_aux'] = losses['loss_aux'] + 1e-3 * learner.architecture.stages[0][0][0].weight.sum()
        return output, losses
    monkeypatch.setattr(learner, 'forward_local', forward_local)
    with pytest.raises(GradientLeakError, match=r'm3 reached 1 parameters.*stages\.0\.0\.0\.weight \(m1\)'):
        assert_gradients_isolated(learner, batch)


def test_clip_grad_is_per_module_and_each_norm_is_logged():
    learner = build()
    max_norm = 0.05
    ow = build_optim_wrapper(learner, dict(OPTIM, clip_grad=dict(max_norm=max_norm)))
    clipped = {}
    for name, w in ow.items():
        w.optimizer.register_step_pre_hook(lambda opt, a, kw, name=name: clipped.__setitem__(name, torch.norm(
            torch.stack([p.grad.norm() for g in opt.param_groups for p in g['params'] if p.grad is not None]))))
    learner.train_step(batch(), ow)
    hub = MessageHub.get_current_instance()
    norms = {name: hub.get_scalar(f'train/{name}.grad_norm').current() for name in ow.keys()}
    assert len(set(norms.values())) == 4 and all(n > max_norm for n in norms.values())  # one norm per module
    for name in ow.keys():
        assert clipped[name].item() == pytest.approx(max_norm, rel=1e-4)  # each module clipped to max_norm ...
    whole = math.sqrt(sum(c.item() ** 2 for c in clipped.values()))
    assert whole == pytest.approx(2 * max_norm, rel=1e-4)  # ... so the whole reaches sqrt(K) x max_norm
