"""Shared check: every local module's gradients are those of its own local loss alone."""
import torch
from mmengine.optim import build_optim_wrapper

from fba_mm.core import IsolationGuard, module_name


def train_step_grads(learner, data, seed=0):
    """Run one real ``train_step`` (lr=0, so nothing moves) and capture what each module's optimizer steps with.

    The step runs under the learner's isolation guard, which also catches what the capture cannot see: a gradient
    that reaches an earlier module after it has stepped, and a module output handed on with its graph."""
    ow = build_optim_wrapper(learner, dict(constructor='LocalOptimWrapperConstructor',
                                           optimizer=dict(type='SGD', lr=0.0)))
    captured = {}
    for name, wrapper in ow.items():
        wrapper.optimizer.register_step_pre_hook(
            lambda opt, args, kwargs, name=name: captured.__setitem__(
                name, [None if p.grad is None else p.grad.clone() for p in opt.param_groups[0]['params']]))
    torch.manual_seed(seed)
    with learner.observers.watching(IsolationGuard()):
        learner.train_step(data, ow)
    return ow, captured


def local_loss_grads(learner, data, ow, seed=0):
    """Each module's loss differentiated alone w.r.t. its own parameters, module by module on detached inputs."""
    torch.manual_seed(seed)
    data = learner.data_preprocessor(data, True)
    with torch.no_grad():
        feature = learner.forward_prefix(data['inputs'])
    out = {}
    for k in range(learner.num_modules):
        params = ow[module_name(k)].optimizer.param_groups[0]['params']
        with learner.aux_weights(k):
            output, losses = learner.forward_local(k, feature, data['data_samples'])
            loss, _ = learner.parse_losses(losses)
            trainable = [p for p in params if p.requires_grad]
            grads = iter(torch.autograd.grad(loss, trainable, allow_unused=True))
        out[module_name(k)] = [next(grads) if p.requires_grad else None for p in params]
        feature = learner.detach_output(output)
    learner.feature_bank.clear()
    return out


def assert_gradients_isolated(learner, make_data, seed=0, atol=1e-6, rtol=1e-4):
    ow, got = train_step_grads(learner, make_data(), seed)
    expected = local_loss_grads(learner, make_data(), ow, seed)
    assert set(got) == set(expected) == {module_name(k) for k in range(learner.num_modules)}
    for name in got:
        assert any(g is not None for g in got[name]), f'{name} got no gradient at all'
        for g, e in zip(got[name], expected[name]):
            assert (g is None) == (e is None), name
            if g is not None:
                torch.testing.assert_close(g, e, atol=atol, rtol=rtol, msg=lambda m: f'{name}: {m}')
