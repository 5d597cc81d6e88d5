"""Shared checks of the auxiliary nets' weight sources (copy, tied, ema) for every task."""
import copy

import torch
from mmengine.optim import build_optim_wrapper

from fba_mm.core import module_name

LOCAL_OPTIM = dict(constructor='LocalOptimWrapperConstructor',
                   optimizer=dict(type='SGD', lr=0.01, momentum=0.9))


def optimizer_params(learner):
    ow = build_optim_wrapper(learner, copy.deepcopy(LOCAL_OPTIM))
    return ow, {name: [p for g in w.optimizer.param_groups for p in g['params']] for name, w in ow.items()}


def assert_no_optimizer_state_beyond_the_architecture(learner):
    """Tied and EMA auxiliary nets: the optimizers hold exactly the architecture's trainable parameters."""
    ow, params = optimizer_params(learner)
    held = [id(p) for ps in params.values() for p in ps]
    assert sorted(held) == sorted(id(p) for p in learner.architecture.parameters() if p.requires_grad)
    aux = {id(p) for a in learner.aux_nets for p in a.parameters()}
    assert not set(held) & aux
    return ow


def assert_aux_backward_reaches_module_k_only(learner, make_data, k=0):
    """Module k's local loss, backward alone: gradients on module k's parameters, none anywhere else, and the
    main model's buffers (BN statistics) unchanged by the auxiliary pass."""
    learner.zero_grad(set_to_none=True)
    buffers = {n: b.clone() for n, b in learner.architecture.named_buffers()}
    data = learner.data_preprocessor(make_data(), True)
    with torch.no_grad():
        feature = learner.forward_prefix(data['inputs'])
    for j in range(k):  # earlier modules only provide the input (and the bank)
        with torch.no_grad(), learner.aux_weights(j):
            feature, _ = learner.forward_local(j, feature, data['data_samples'])
    own = {id(p) for path in learner.local_module_paths()[k] for p in learner.get_submodule(path).parameters()}
    with learner.aux_weights(k):
        _, losses = learner.forward_local(k, feature, data['data_samples'])
        loss, _ = learner.parse_losses(losses)
        loss.backward()
    learner.feature_bank.clear()
    with_grad = {n for n, p in learner.named_parameters() if p.grad is not None}
    assert with_grad, 'the local loss reached no parameter'
    strays = [n for n, p in learner.named_parameters() if p.grad is not None and id(p) not in own]
    assert not strays, f'module {module_name(k)}\'s local loss reached {strays[:5]}'
    for n, b in learner.architecture.named_buffers():
        if not any(n.startswith(p[len('architecture.'):]) for p in learner.local_module_paths()[k]):
            assert torch.equal(b, buffers[n]), f'the auxiliary pass moved {n}'
    learner.zero_grad(set_to_none=True)


def assert_ema_follows_the_main_weights(learner, make_data, momentum):
    """After a step: every EMA weight is m * (its value before) + (1 - m) * (the main weight after)."""
    ow = build_optim_wrapper(learner, copy.deepcopy(LOCAL_OPTIM))
    before = [{n: t.clone() for n, t in a.state_dict().items()} for a in learner.aux_nets]
    learner.train_step(make_data(), ow)
    moved = 0
    for aux, old in zip(learner.aux_nets, before):
        for path, source in aux.mirror_pairs():
            main = learner.architecture.get_submodule(source)
            for name, w in aux.get_submodule(path).named_parameters():
                w_main = main.get_parameter(name)
                torch.testing.assert_close(w, momentum * old[f'{path}.{name}'] + (1 - momentum) * w_main)
                assert not w.requires_grad
                moved += not torch.equal(w, old[f'{path}.{name}'])
    assert moved  # the main weights changed, so did the EMA copies


def mirrored_weights(learner):
    """(aux net k, mirror path, tensor name) -> (the mirror's tensor, the main part's), tied ones while bound."""
    out = {}
    for k, aux in enumerate(learner.aux_nets):
        with learner.aux_weights(k):
            for path, source in aux.mirror_pairs():
                main = dict(learner.architecture.get_submodule(source).state_dict(keep_vars=True))
                for name, w in aux.get_submodule(path).state_dict(keep_vars=True).items():
                    out[(k, path, name)] = (w.detach().clone(), main[name].detach().clone())
    assert out, 'no mirrors to compare'
    return out


def assert_load_from_recopies_the_aux_nets(learner, stock_model):
    """``load_from`` a stock checkpoint (mmengine's loader, non-strict, after init_weights): every mirror takes the
    loaded weights. A fba_mm checkpoint that holds the auxiliary weights keeps them (a resume stays exact)."""
    from mmengine.runner.checkpoint import load_state_dict
    stock = {k: v + 0.5 if v.is_floating_point() else v for k, v in stock_model.state_dict().items()}
    load_state_dict(learner, stock, strict=False)
    for key, (mirror, main) in mirrored_weights(learner).items():
        assert torch.equal(main, stock[_main_key(learner, key)]), key  # the stock weights did load
        assert torch.equal(mirror, main), f'{key} kept its pre-load weights'
    if learner.aux_nets[0].weight_source != 'tied':
        trained = {k: v - 0.25 if v.is_floating_point() and k.startswith('aux_nets.') else v
                   for k, v in learner.state_dict().items()}
        load_state_dict(learner, trained, strict=True)
        for k, v in learner.state_dict().items():
            assert torch.equal(v, trained[k]), k


def _main_key(learner, key):
    k, path, name = key
    source = dict(learner.aux_nets[k].mirror_pairs())[path]
    return f'{source}.{name}'


def assert_ema_moves_once_per_optimizer_step(learner, make_data, momentum):
    """With ``accumulative_counts=2`` the modules step every second iteration, and so does the EMA: an iteration
    that only accumulates leaves the copies where they are (else they would move twice per update, momentum m^2)."""
    ow = build_optim_wrapper(learner, dict(copy.deepcopy(LOCAL_OPTIM), accumulative_counts=2))
    ema = lambda: [{n: t.clone() for n, t in a.state_dict().items()} for a in learner.aux_nets]  # noqa: E731
    main = lambda: {n: t.detach().clone() for n, t in learner.architecture.state_dict().items()}  # noqa: E731
    expected = ema()
    for it in range(1, 5):
        learner.train_step(make_data(), ow)
        if it % 2:  # accumulated only: neither the main weights' step nor the EMA's
            for old, now in zip(expected, ema()):
                for name in old:
                    assert torch.equal(old[name], now[name]), f'iteration {it} (no step) moved the EMA copy {name}'
            continue
        weights = main()
        for k, aux in enumerate(learner.aux_nets):
            for path, source in aux.mirror_pairs():
                for name, w in aux.get_submodule(path).named_parameters():
                    key = f'{path}.{name}'
                    expected[k][key] = momentum * expected[k][key] + (1 - momentum) * weights[f'{source}.{name}']
                    torch.testing.assert_close(w, expected[k][key], msg=f'iteration {it}: {key}')
        expected = ema()  # buffers (copied, not averaged) as they are
