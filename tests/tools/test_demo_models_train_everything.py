"""Every demo model trains every layer it has: every parameter is trained, no BN statistic stays at its initial value.

A detector from scratch with the stock ``frozen_stages=1`` and ``norm_eval=True`` would keep its random stem and
layer1, and normalise with BN's initial statistics; a baseline's fresh layers could do the same. Checked for
every run ``tools/analysis/compare.py`` trains, at K=4 (K=2 builds the same parts), on a random batch.
"""
import copy
import importlib
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

from fba_mm.core import runner_config
from fba_mm.det.testing import random_det_batch
from fba_mm.sr.testing import random_sr_batch

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools', 'analysis'))
compare = importlib.import_module('compare')

FAMILIES = [task for task in compare.TASKS if task.split('-')[-1] not in ('det', 'sr', 'x4')]
CASES = [(task, run) for task in ('det', 'sr') for run in compare.task_runs(task, k=(4, ))] + \
    [(task, run) for task in FAMILIES for run in ('e2e', 'slm-k4')]


def batch(task: str, seed: int) -> dict:
    if task.startswith('det'):
        return random_det_batch(batch_size=2, height=96, num_classes=3, num_boxes=4, seed=seed)
    scale = compare.run_config(task, 'e2e').scale
    return random_sr_batch(batch_size=2, height=16, scale=scale, seed=seed)


EMA_MOMENTUM = compare.STRATEGIES['slm_ema']['aux_net_options']['ema_momentum']


def ema_sources(model) -> dict:
    """EMA parameter name -> the main parameter it follows."""
    out = {}
    for k, aux in enumerate(getattr(model, 'aux_nets', [])):
        if getattr(aux, 'weight_source', None) != 'ema':
            continue
        assert aux.weights.momentum == EMA_MOMENTUM
        for path, source in aux.mirror_pairs():
            theirs = dict(model.architecture.get_submodule(source).named_parameters())
            for name, _ in aux.get_submodule(path).named_parameters():
                out[f'aux_nets.{k}.{path}.{name}'] = theirs[name].detach()
    return out


def fed_zeros(model, name: str) -> bool:
    """Whether the lateral conv ``name`` of an auxiliary net's FPN only ever got zeros in the last step."""
    return name in model._zero_input_convs


def watch_lateral_inputs(model) -> None:
    model._zero_input_convs = set()
    for name, m in model.named_modules():
        if re.fullmatch(r'aux_nets\.\d+\.neck\.neck\.lateral_convs\.\d+\.conv', name):
            def hook(mod, args, name=name):
                (model._zero_input_convs.add if not args[0].any() else model._zero_input_convs.discard)(
                    f'{name}.weight')
            m.register_forward_pre_hook(hook)


def bn_statistics(model):
    # (a tied auxiliary net's BN holds no statistics of its own: the main model's are checked)
    return {f'{name}.{stat}': getattr(m, stat).clone() for name, m in model.named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats for stat in ('running_mean', 'running_var')
            if getattr(m, stat) is not None}


# Without the bank (slm_nobank, DGL, AugLocal), an auxiliary net's FPN gets zeros for the earlier stages, so the
# weight of those stages' lateral convs sees only zeros and gets no gradient; their output is their bias, which
# trains. Which stages these are is checked: the weight of a lateral conv that gets a real input must train.
ZERO_INPUT = re.compile(r'aux_nets\.\d+\.neck\.neck\.lateral_convs\.\d+\.conv\.weight')


@pytest.mark.parametrize('task, run', CASES)
def test_every_parameter_trains_and_every_bn_learns_statistics(task, run):
    """Every parameter is stepped with a non-zero gradient (a value test would miss nothing more: an update too
    small for float32 to represent, as on a zero-initialised residual branch's first steps, is still training),
    and every BN layer's running statistics move."""
    cfg = runner_config(compare.run_config(task, run))  # as its runner reads it
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    names = {id(p): n for n, p in model.named_parameters() if p.requires_grad}
    ema = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}  # moving averages
    stepped = set()
    for optimizer in [w.optimizer for w in getattr(optim_wrapper, 'values', lambda: [optim_wrapper])()]:
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: stepped.update(
            id(p) for g in opt.param_groups if g['lr'] > 0 for p in g['params']
            if p.grad is not None and p.grad.abs().sum() > 0))
    main_at_init = {n: p.detach().clone() for n, p in ema_sources(model).items()}
    before = bn_statistics(model)
    watch_lateral_inputs(model)
    model.train()
    # TOOD's head reads the runner's epoch: 4 is its main phase (task-aligned assigner, epochs 4-11 of 12). In its
    # ATSS phase this batch's 12-41 px boxes would all go to stride 8, where the demo set's 16-77 px objects do not
    MessageHub.get_current_instance().update_info('epoch', 4)
    for seed in range(2):  # a zero-initialised residual BN passes gradient on from the second step
        model.train_step(batch(task, seed), optim_wrapper)
    untrained = sorted(n for i, n in names.items() if i not in stepped)
    if not cfg.model.get('use_bank', True):
        untrained = [n for n in untrained if not (ZERO_INPUT.fullmatch(n) and fed_zeros(model, n))]
    assert not untrained, f'{run}: {len(untrained)} of {len(names)} parameters never trained, e.g. {untrained[:6]}'
    assert not ema or 'ema' in run, f'{run}: frozen parameters {list(ema)[:6]}'
    # EMA copies are no random leftovers: copied from the main weights, then moved towards them (unless the main
    # weight moved less than float32 can register at the average's rate 1 - momentum)
    current, main = dict(model.named_parameters()), ema_sources(model)
    assert all(torch.equal(value, main_at_init[n]) for n, value in ema.items())
    still = [n for n, value in ema.items() if torch.equal(value, current[n]) and
             ((main[n] - value).abs() * (1 - EMA_MOMENTUM) > 1e-7 * value.abs().clamp(min=1)).any()]
    assert not still, f'{run}: {len(still)} EMA parameters never moved, e.g. {still[:6]}'
    after = bn_statistics(model)
    stuck = [name for name, value in before.items() if torch.equal(value, after[name])]
    assert not stuck, f'{run}: {len(stuck)} BN statistics stay at their initial value, e.g. {stuck[:6]}'
