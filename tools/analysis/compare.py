"""The fair comparison, one command per task: end-to-end, end-to-end with activation checkpointing, and every
auxiliary-net strategy at K=2 and K=4, trained on the demo set with the same schedule and the same seeds.

    python tools/analysis/compare.py sr  [--seeds 0 1 2] [--runs e2e slm-k4 ...] [--cfg-options k=v ...]
    python tools/analysis/compare.py sr-x4 [--seeds 0 1 2] [--runs ...]
    python tools/analysis/compare.py det [--seeds 0 1 2]
    python tools/analysis/compare.py det-rtmdet --runs e2e slm-k4 [--seeds 0 1 2]   # a family's demo: K=4 only
    python tools/analysis/compare.py det-dino --runs e2e slm-k4 --measure-only      # one step's cost, no training

Tasks: ``det`` (Faster R-CNN R18) and ``sr`` / ``sr-x4`` (EDSR), the families' own demos ``det-rtmdet``,
``det-yolox``, ``det-tood``, ``det-dino``, ``sr-rdn``, ``sr-rrdb`` (RRDBNet), ``sr-msrresnet`` and ``sr-swinir``,
each trained as its kind's demo trains (``TASKS``).

Every run is the task's demo config (configs/{det,sr}/demo/) with the strategy switched in, dumped to
``<work-root>/<section>/<run>/seed<s>/config.py`` and trained by tools/train.py. Each finished run writes its
final metrics, the fingerprint of its config and its training time to
``docs/bench/compare/<section>/<run>/seed<s>.json``. Those small files are committed, so the comparison resumes
from them on any machine: a run whose committed result came from the same config is not trained again, and one
whose config changed since (another demo set, other options) is. An unfinished run starts again from its last
checkpoint in the work dir.
Then, once per run kind and on one real batch of the demo train set: activation memory (exact saved-tensor
bytes), seconds per iteration (median of 3), auxiliary-net parameters and FLOPs of one training iteration
(forward + backward, torch's FlopCounterMode). Accuracy is the final val metric: mean and standard deviation
over the seeds. The tables and plots go into the task's section of docs/benchmarks.md.

Runs (``--runs``): e2e, e2e_cp, and <strategy>-k<K> for a strategy or recipe of ``STRATEGIES``:
    slm            FBA with the task's demo config as it ships: the default recipe (configs/*/demo/*fba-k<K>*.py)
    slm_copy       the original SLM: trained copies of the later blocks, neck/tail and heads, at full resolution
    slm_tied       the default with tied auxiliary weights (the main parts themselves, detached)
    slm_tied_full  the default, tied, at full resolution (aux_net.scale=1.0)
    slm_ema        the default with EMA copies (ema_momentum=0.99: a 100-iteration horizon, for runs of ~1000)
    slm_d2         the default with two copied blocks per later stage (aux_net.depth=2)
    slm_cp         the default with activation checkpointing in the auxiliary nets' blocks
    slm_tied_full_cp  tied at full resolution, with activation checkpointing in the auxiliary nets' blocks
    slm_fl1        det: the default with auxiliary necks and heads without the finest pyramid level (first_level=1)
    slm_fl2        det: the same without the two finest levels (aux_net.first_level=2)
    slm_own_levels det: each auxiliary net keeps the levels its module's stages feed (aux_net.first_level='own')
    slm_crop       the default on a random window of half the image's (patch's) height and width (aux_net.crop=0.5)
    slm_copy_crop  SR: trained copies of the next block and the tail on half-size windows (EDSR x2's default)
    slm_nobank     the default without the feature bank (the ablation)
    dgl            a few fresh convs + the task head on the live feature alone (DGL)
    augloc         fresh layers shaped like uniformly sampled later layers, depth shrinking with depth (AugLocal)
"""
import argparse
import copy
import hashlib
import json
import os
import os.path as osp
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from mmengine.config import Config, DictAction  # noqa: E402

import fba_mm  # noqa: E402,F401
from fba_mm.core import runner_config  # noqa: E402

#: Auxiliary-net strategies and recipes, each a switch applied to the task's FBA config (``aux_net`` replaces the
#: config's whole; ``aux_net_options`` update it; ``tasks``: the tasks whose auxiliary nets take those options, all
#: if absent). ``slm`` is the demo config as it ships: FBA's default recipe.
STRATEGIES = {
    'slm': dict(use_bank=True),
    'slm_copy': dict(use_bank=True, aux_net=dict(type='SLMAuxNet', depth=1)),
    'slm_tied': dict(use_bank=True, aux_net_options=dict(weight_source='tied')),
    'slm_tied_full': dict(use_bank=True, aux_net_options=dict(weight_source='tied', scale=1.0), tasks=('det', )),
    'slm_ema': dict(use_bank=True, aux_net_options=dict(weight_source='ema', ema_momentum=0.99)),
    'slm_d2': dict(use_bank=True, aux_net_options=dict(depth=2)),
    'slm_cp': dict(use_bank=True, aux_net_options=dict(with_cp=True)),
    'slm_tied_full_cp': dict(use_bank=True, aux_net_options=dict(weight_source='tied', scale=1.0, with_cp=True),
                             tasks=('det', )),
    'slm_fl1': dict(use_bank=True, aux_net_options=dict(first_level=1), tasks=('det', )),
    'slm_fl2': dict(use_bank=True, aux_net_options=dict(first_level=2), tasks=('det', )),
    'slm_own_levels': dict(use_bank=True, aux_net_options=dict(first_level='own'), tasks=('det', )),
    'slm_crop': dict(use_bank=True, aux_net_options=dict(crop=0.5)),
    'slm_copy_crop': dict(use_bank=True, aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5), tasks=('sr', )),
    'slm_nobank': dict(use_bank=False),
    'dgl': dict(use_bank=False, aux_net=dict(type='DGLAuxNet')),
    'augloc': dict(use_bank=False, aux_net=dict(type='AugLocAuxNet')),
}
RUNS = ['e2e', 'e2e_cp'] + [f'{s}-k{k}' for s in STRATEGIES for k in (2, 4)]


def task_runs(task: str, k=(2, 4)) -> list:
    """The runs that apply to ``task`` (``STRATEGIES``' ``tasks``)."""
    return ['e2e', 'e2e_cp'] + [f'{s}-k{n}' for s, v in STRATEGIES.items() if task.split('-')[0] in v.get('tasks', (
        task.split('-')[0], )) for n in k]
LABELS = dict(e2e='end-to-end', e2e_cp='end-to-end + checkpointing', slm='FBA (default recipe)',
              slm_copy='FBA, original SLM (trained copies, full res.)', slm_tied='FBA, SLM tied',
              slm_tied_full='FBA, tied, full res.', slm_ema='FBA, EMA copies (m=0.99)', slm_d2='FBA, depth 2',
              slm_cp='FBA, aux. checkpointed', slm_tied_full_cp='FBA, tied, full res., aux. checkpointed',
              slm_fl1='FBA, aux. heads without the finest level',
              slm_fl2='FBA, aux. heads without the two finest levels',
              slm_own_levels="FBA, aux. heads on their module's levels",
              slm_crop='FBA, aux. nets on half-size windows',
              slm_copy_crop='FBA, trained copies on half-size windows',
              slm_nobank='SLM, no bank', dgl='DGL', augloc='AugLocal')

DET_METRICS = [('coco/bbox_mAP', 'bbox mAP', 3), ('coco/bbox_mAP_50', 'mAP@0.5', 3)]
SR_METRICS = [('PSNR', 'PSNR (dB)', 2), ('SSIM', 'SSIM', 4)]


def family_task(demo: str, title: str) -> dict:
    """A family's task: its end-to-end demo config and the FBA K=4 one beside it (``<demo>`` -> ``<demo>_fba-k4``)."""
    stem, kind = demo[:-len('_demo.py')], demo.split('/')[1]
    return dict(demo=demo, fba={4: f'{stem}_fba-k4_demo.py'}, title=title,
                metrics=DET_METRICS if kind == 'det' else SR_METRICS)


TASKS = {
    'det': dict(
        demo='configs/det/demo/faster-rcnn_r18_fpn_demo.py',
        fba={2: 'configs/det/demo/faster-rcnn_r18_fpn_fba-k2_demo.py',
             4: 'configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py'},
        metrics=DET_METRICS, title='Faster R-CNN R18-FPN on the demo shapes set'),
    'sr': dict(
        demo='configs/sr/demo/edsr_x2c32b8_demo.py',
        fba={2: 'configs/sr/demo/edsr_x2c32b8_fba-k2_demo.py', 4: 'configs/sr/demo/edsr_x2c32b8_fba-k4_demo.py'},
        metrics=SR_METRICS, title='EDSR x2 (c32b8) on the demo photo set'),
    'sr-x4': dict(
        demo='configs/sr/demo/edsr_x4c32b8_demo.py',
        fba={2: 'configs/sr/demo/edsr_x4c32b8_fba-k2_demo.py', 4: 'configs/sr/demo/edsr_x4c32b8_fba-k4_demo.py'},
        metrics=SR_METRICS, title='EDSR x4 (c32b8) on the demo photo set'),
    # one task per further family: its demo-size model, trained as the family's kind's demo trains
    'det-rtmdet': family_task('configs/det/demo/rtmdet_tiny_demo.py', 'RTMDet-tiny on the demo shapes set'),
    'det-yolox': family_task('configs/det/demo/yolox_tiny_demo.py', 'YOLOX-tiny on the demo shapes set'),
    'det-tood': family_task('configs/det/demo/tood_r18_fpn_demo.py', 'TOOD R18-FPN on the demo shapes set'),
    'det-dino': family_task('configs/det/demo/dino-4scale_r18_demo.py', 'DINO-4scale R18 on the demo shapes set'),
    'sr-rdn': family_task('configs/sr/demo/rdn_x2c32b8_demo.py', 'RDN x2 (c32, 8 blocks) on the demo photo set'),
    'sr-rrdb': family_task('configs/sr/demo/esrgan_psnr-x4c32b4g16_demo.py',
                           'RRDBNet x4 (ESRGAN-PSNR, c32, 4 blocks) on the demo photo set'),
    'sr-msrresnet': family_task('configs/sr/demo/msrresnet_x4c32b8_demo.py',
                                'MSRResNet x4 (c32b8) on the demo photo set'),
    'sr-swinir': family_task('configs/sr/demo/swinir_x2s32w8d2e32_demo.py',
                             'SwinIR x2 (4 blocks of 2, 32 channels) on the demo photo set'),
}


# ---------------------------------------------------------------------------------------------- configs
def run_config(task: str, run: str, options=None) -> Config:
    """The demo config of ``run``: the end-to-end config, or the FBA config with the strategy switched in."""
    spec = TASKS[task]
    from fba_mm.core.benchmark import benchmark_recipe  # of the config's scope: its custom_imports register it
    if run in ('e2e', 'e2e_cp'):
        cfg = Config.fromfile(osp.join(ROOT, spec['demo']))
        if run == 'e2e_cp':
            model, local = benchmark_recipe(cfg.default_scope).end_to_end_checkpointed(cfg.model)
            cfg.model = model
            if local:  # (SR: the K=1 local learner, which needs the per-module optimizer constructor)
                cfg.optim_wrapper.constructor = 'LocalOptimWrapperConstructor'
    else:
        strategy, k = re.fullmatch(r'(\w+)-k(\d+)', run).groups()
        cfg = apply_strategy(Config.fromfile(osp.join(ROOT, spec['fba'][int(k)])), strategy)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def apply_strategy(cfg: Config, strategy: str) -> Config:
    """``cfg`` (an FBA config) with ``STRATEGIES[strategy]`` switched in, in place."""
    switch = copy.deepcopy(STRATEGIES[strategy])
    switch.pop('tasks', None)
    if 'aux_net' in switch:
        cfg.model.aux_net = switch.pop('aux_net')  # replaced whole: the SLM knobs mean nothing to others
    cfg.model.aux_net.update(switch.pop('aux_net_options', {}))
    cfg.model.update(switch)
    return cfg


#: What decides a run's result: the model, the data it trains and is validated on, the schedule, the optimizer, the
#: hooks that act on training (``custom_hooks``: EMA, pipeline switches) and the seed. Hooks that log or save
#: (``default_hooks``), the log processor, the visualiser and top-level helper variables do not, so moving them
#: leaves committed results valid. (Validation stays in: creating its data loader draws from torch's generator,
#: so the validation interval changes what training samples.)
TRAINING_KEYS = ('model', 'train_dataloader', 'val_dataloader', 'val_evaluator', 'train_cfg', 'optim_wrapper',
                 'param_scheduler', 'custom_hooks', 'randomness')


def fingerprint(cfg: Config) -> str:
    """What decides a run's result (``TRAINING_KEYS`` of its config, seed included) and the settings of the demo set
    it trains on (``<data_root>/settings.json``, its generator's version among them). A committed result of another
    fingerprint is stale and is trained again."""
    settings = osp.join(ROOT, cfg.data_root, 'settings.json')
    stamp = open(settings).read() if osp.exists(settings) else ''
    training = {key: runner_config(cfg).to_dict().get(key) for key in TRAINING_KEYS}  # as its runner reads it
    return hashlib.sha256((json.dumps(training, sort_keys=True, default=repr) + stamp).encode()).hexdigest()[:16]


def seeded(cfg: Config, seed: int) -> Config:
    cfg = copy.deepcopy(cfg)
    cfg.randomness = dict(seed=seed)
    return cfg


def committed_result(results_dir: str, run: str, seed: int, cfg: Config):
    """The committed metrics of ``run`` at ``seed`` if they were trained from this very config, else None."""
    path = osp.join(results_dir, run, f'seed{seed}.json')
    if not osp.exists(path):
        return None
    result = json.load(open(path))
    if result.get('fingerprint') != fingerprint(cfg):
        print(f'{path}: trained from another config (the demo or the options changed); training again', flush=True)
        return None
    return result


def committed_values(task: str, section: str, run: str, seeds, options=None) -> list:
    """The task's main metric of every committed result of ``run`` in ``docs/bench/compare/<section>`` at ``seeds``
    that was trained from today's config (fingerprint)."""
    key = TASKS[task]['metrics'][0][0]
    results_dir = osp.join(ROOT, 'docs', 'bench', 'compare', section)
    cfg = run_config(task, run, options)
    results = (committed_result(results_dir, run, seed, seeded(cfg, seed)) for seed in seeds)
    return [result['metrics'][key] for result in results if result is not None]


def train(cfg: Config, work_dir: str, metric_keys, result_file: str) -> dict:
    """Train one run with tools/train.py (resuming from its last checkpoint, if any); write its final metrics, the
    config's fingerprint and what it cost to ``result_file`` (committed: the comparison resumes from it on any
    machine); return them."""
    from fba_mm.core.plots import read_evaluations, read_scalars
    prepare_work_dir(work_dir, cfg)
    config = osp.join(work_dir, 'config.py')
    cfg.dump(config)
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    if any(f.endswith('.pth') and not f.endswith('_stock.pth') for f in os.listdir(work_dir)):
        cmd.append('--resume')  # an unfinished run of this very config
    log_file = osp.join(work_dir, 'train.log')
    started = time.time()
    with open(log_file, 'a') as log:
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    evals = read_evaluations(work_dir, metric_keys[0])
    if not evals:
        raise RuntimeError(f'{work_dir}: training finished without a validation; see {log_file}')
    scalars = read_scalars(work_dir)
    result = dict(metrics=evals[-1], evaluations=evals, iters=scalars[-1]['iter'] if scalars else None,
                  fingerprint=fingerprint(cfg), train_minutes=round((time.time() - started) / 60, 1),
                  commit=git_commit(), finished=time.strftime('%Y-%m-%d %H:%M'))
    os.makedirs(osp.dirname(result_file), exist_ok=True)
    with open(result_file, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def train_seed(task: str, run: str, seed: int, work_dir: str, options=None) -> dict:
    """Train one run of the comparison at ``seed`` from scratch in ``work_dir``, exactly as ``main`` trains it, and
    return its result (the slow accuracy tests call this; the result file goes into ``work_dir``)."""
    prepare_data(task)
    cfg = seeded(run_config(task, run, options), seed)
    return train(cfg, work_dir, [key for key, _, _ in TASKS[task]['metrics']], osp.join(work_dir, 'result.json'))


def prepare_work_dir(work_dir: str, cfg: Config) -> None:
    """Make ``work_dir`` for ``cfg``. One left by another config (or by a version of this tool that did not stamp
    it) is moved to ``<work_dir>.stale``: resuming its checkpoints would train the old config on."""
    stamp, current = osp.join(work_dir, 'fingerprint'), fingerprint(cfg)
    if osp.isdir(work_dir) and (not osp.exists(stamp) or open(stamp).read() != current):
        print(f'{work_dir}: left by another config; moved to {work_dir}.stale, training from the start', flush=True)
        shutil.rmtree(work_dir + '.stale', ignore_errors=True)
        os.rename(work_dir, work_dir + '.stale')
    os.makedirs(work_dir, exist_ok=True)
    with open(stamp, 'w') as f:
        f.write(current)


def git_commit() -> str:
    out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


# ---------------------------------------------------------------------------------------------- measuring
def build_for_step(cfg: Config):
    """(model, optim_wrapper, batch): the config's model (seed 0, initialised) and optimizers, and the first batch of
    its train set, loaded in this process: what one measured training step needs."""
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
    model.init_weights()
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('epoch', 0)  # a runner's first epoch (TOOD's head reads it)
    return model, build_optim_wrapper(model, runner_config(cfg).optim_wrapper), batch


def measure(cfg: Config, task: str) -> dict:
    """Memory, speed, auxiliary size and FLOPs (by part) of one training step on one real demo batch."""
    from fba_mm.core.benchmark import benchmark_recipe, measure_training
    model, optim_wrapper, batch = build_for_step(cfg)
    out = measure_training(model, optim_wrapper, batch, part_rules=benchmark_recipe(cfg.default_scope).flop_parts)
    aux = getattr(model, 'aux_nets', [])
    out['aux_params_m'] = sum(p.numel() for p in aux.parameters()) / 1e6 if len(aux) else 0.0
    out['model_params_m'] = sum(p.numel() for p in getattr(model, 'architecture', model).parameters()) / 1e6
    out['train_gflops'] = out['gflops']
    return out


# ---------------------------------------------------------------------------------------------- report
def summarise(results: dict, measures: dict, task: str) -> list:
    rows = []
    for run, per_seed in results.items():
        row = dict(run=run, seeds=sorted(per_seed), **measures.get(run, {}))
        for key, _, _ in TASKS[task]['metrics']:
            values = [m[key] for m in per_seed.values() if key in m]
            row[key] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))
        rows.append(row)
    return rows


def label(run: str) -> str:
    if run in LABELS:
        return LABELS[run]
    strategy, k = run.rsplit('-k', 1)
    return f'{LABELS[strategy]}, K={k}'


def learning_curves(histories: dict, key: str) -> dict:
    """run -> step -> (mean, std, seeds) of ``key`` over the seeds that were validated at that step (epoch or
    iteration, as the loop counts): how the seed spread evolves with the schedule."""
    curves = {}
    for run, per_seed in histories.items():
        at = {}
        for evals in per_seed.values():
            for row in evals:
                if key in row and 'step' in row:
                    at.setdefault(row['step'], []).append(row[key])
        curves[run] = {step: (statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v))
                       for step, v in sorted(at.items())}
    return {run: c for run, c in curves.items() if c}


def curves_markdown(curves: dict, task: str) -> list:
    key, name, digits = TASKS[task]['metrics'][0]
    steps = sorted({step for c in curves.values() for step in c})
    lines = ['', f'Val {name} at every evaluation (mean ± std over the seeds; step = epoch or iteration):', '',
             '| run | ' + ' | '.join(str(s) for s in steps) + ' |', '|---|' + '---:|' * len(steps)]
    for run, c in curves.items():
        cells = [(f'{c[s][0]:.{digits}f} ± {c[s][1]:.{digits}f}' if c[s][2] > 1 else f'{c[s][0]:.{digits}f}')
                 if s in c else '-' for s in steps]
        lines.append(f'| {label(run)} | ' + ' | '.join(cells) + ' |')
    return lines


def plot_learning_curves(curves: dict, task: str, out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    _, name, _ = TASKS[task]['metrics'][0]
    fig, ax = plt.subplots(figsize=(6.4, 4), dpi=120)
    for run, c in curves.items():
        steps = sorted(c)
        mean = [c[s][0] for s in steps]
        std = [c[s][1] for s in steps]
        ax.plot(steps, mean, marker='o', ms=3, label=f'{label(run)} ({max(c[s][2] for s in steps)} seeds)')
        ax.fill_between(steps, [m - d for m, d in zip(mean, std)], [m + d for m, d in zip(mean, std)], alpha=0.2)
    ax.set_xlabel('epoch' if task.startswith('det') else 'iteration')
    ax.set_ylabel(f'val {name} (mean ± std over seeds)')
    ax.set_title(TASKS[task]['title'], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def markdown(rows: list, task: str, command: str, extra_rows=(), images=(), curves=None, section=None) -> str:
    spec = TASKS[task]
    e2e = next((r for r in rows if r['run'] == 'e2e'), None)
    heads = [name for _, name, _ in spec['metrics']]
    title = spec['title'] + (f' ({section})' if section and section != task else '')
    lines = [f'### {title}', '', f'Regenerate: `{command}`', '',
             '| run | ' + ' | '.join(heads) + ' | seeds | total MiB | vs e2e | activation MiB | vs e2e | s/iter | '
             'vs e2e | aux params (M) | GFLOPs/iter (train) |',
             '|---|' + '---:|' * (len(heads) + 9)]
    for name, values in extra_rows:
        lines.append(f'| {name} | ' + ' | '.join(values) + ' | - ' * 9 + '|')
    for r in rows:
        cells = []
        for key, _, digits in spec['metrics']:
            mean, std, n = r[key]
            cells.append(f'{mean:.{digits}f} ± {std:.{digits}f}' if n > 1 else f'{mean:.{digits}f}')
        total, mem, sec = r.get('total_mib'), r.get('activation_mib'), r.get('sec_per_iter')
        rel = lambda v, key: f'{v / e2e[key]:.2f}' if v is not None and e2e and e2e.get(key) else '-'  # noqa: E731
        fmt = lambda v, f: format(v, f) if v is not None else '-'  # noqa: E731
        lines.append(f'| {label(r["run"])} | ' + ' | '.join(cells) + f' | {len(r["seeds"])} | {fmt(total, ".1f")} | '
                     f'{rel(total, "total_mib")} | {fmt(mem, ".1f")} | '
                     f'{rel(mem, "activation_mib")} | {fmt(sec, ".3f")} | {rel(sec, "sec_per_iter")} | '
                     f'{fmt(r.get("aux_params_m"), ".3f")} | {fmt(r.get("train_gflops"), ".1f")} |')
    if curves and any(len(c) > 1 for c in curves.values()):
        lines += curves_markdown(curves, task)
    lines += [''] + [f'![{alt}]({path})' for alt, path in images]
    return '\n'.join(lines) + '\n'


def update_doc(doc: str, section: str, text: str) -> None:
    """Replace a generated section of the doc (between its markers); the prose around it stays."""
    start, end = f'<!-- compare:{section}:start -->', f'<!-- compare:{section}:end -->'
    body = open(doc).read() if osp.exists(doc) else '# Benchmarks\n'
    block = f'{start}\n{text}{end}'
    if start in body:
        body = re.sub(re.escape(start) + '.*?' + re.escape(end), lambda _: block, body, flags=re.S)
    else:
        body = body.rstrip('\n') + '\n\n' + block + '\n'
    with open(doc, 'w') as f:
        f.write(body)


def plot_memory_vs_accuracy(rows: list, task: str, out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    key, name, _ = TASKS[task]['metrics'][0]
    fig, ax = plt.subplots(figsize=(6.4, 4), dpi=120)
    for r in rows:
        if r.get('total_mib') is None:
            continue
        mean, std, _ = r[key]
        ax.errorbar(r['total_mib'], mean, yerr=std, fmt='o', capsize=3)
        ax.annotate(label(r['run']), (r['total_mib'], mean), fontsize=7, xytext=(4, 3),
                    textcoords='offset points')
    ax.set_xlabel('total memory of one training step (MiB, every live tensor)')
    ax.set_ylabel(f'val {name} (mean ± std over seeds)')
    ax.set_title(TASKS[task]['title'], fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('task', choices=sorted(TASKS))
    parser.add_argument('--runs', nargs='+', default=RUNS, choices=RUNS)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-root', default='work_dirs/compare', help='work dirs of the runs (checkpoints, logs)')
    parser.add_argument('--results', default='docs/bench/compare',
                        help='where each finished run writes its metrics, <results>/<section>/<run>/seed<s>.json: '
                        'commit them, and the comparison resumes from them instead of training again')
    parser.add_argument('--doc', default='docs/benchmarks.md')
    parser.add_argument('--images', default='docs/images')
    parser.add_argument('--section', help='name of the generated section of the doc (default: the task), so that a '
                        'comparison of other runs does not replace it')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: measure and report the runs that have finished')
    parser.add_argument('--measure-only', action='store_true',
                        help='train nothing: measure one training step of each run (memory, speed, FLOPs, on one '
                        'real batch) into <results>/<section>/measures.json, as a comparison does before its report; '
                        'what a run costs before it is trained')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='applied to every run alike, e.g. train_cfg.max_iters=500')
    args = parser.parse_args()
    os.chdir(ROOT)
    unfit = [run for run in args.runs if run not in task_runs(args.task)]
    if unfit:
        parser.error(f'{unfit} do not apply to {args.task}: their auxiliary-net options exist only in '
                     f'{sorted({t for r in unfit for t in STRATEGIES[r.rsplit("-k", 1)[0]]["tasks"]})}')
    # the command that trains and reports (a --report-only pass reports what that command made)
    command = 'python tools/analysis/compare.py ' + shlex.join(a for a in sys.argv[1:] if a != '--report-only')
    spec = TASKS[args.task]
    section = args.section or args.task
    root = osp.join(args.work_root, section)
    os.makedirs(root, exist_ok=True)
    prepare_data(args.task)

    jobs = [(run, seed) for seed in args.seeds for run in args.runs]
    configs = {run: run_config(args.task, run, args.cfg_options) for run in args.runs}
    results_dir = osp.join(args.results, section)
    if args.measure_only:
        return measure_runs(configs, args.task, osp.join(results_dir, 'measures.json'), args.runs)
    results = {run: {} for run in args.runs}
    histories = {run: {} for run in args.runs}  # run -> seed -> every validation of that run
    job_configs = {(run, seed): seeded(configs[run], seed) for run, seed in jobs}
    committed = {(run, seed): committed_result(results_dir, run, seed, job_configs[run, seed]) for run, seed in jobs}
    todo = sum(result is None for result in committed.values())
    started = time.time()
    done_now = 0
    for i, (run, seed) in enumerate(jobs):
        cfg = job_configs[run, seed]
        result = committed[run, seed]
        if result is None and args.report_only:
            continue
        if result is None:
            eta = ''
            if done_now:
                eta = f', about {(time.time() - started) / done_now * (todo - done_now) / 60:.0f} min left'
            work_dir = osp.join(root, run, f'seed{seed}')
            print(f'[{i + 1}/{len(jobs)}] {run} seed {seed}: training (log {work_dir}/train.log{eta})', flush=True)
            result = train(cfg, work_dir, [key for key, _, _ in spec['metrics']],
                           osp.join(results_dir, run, f'seed{seed}.json'))
            done_now += 1
        key, name, digits = spec['metrics'][0]
        print(f'[{i + 1}/{len(jobs)}] {run} seed {seed}: {name} {result["metrics"][key]:.{digits}f}', flush=True)
        results[run][seed] = result['metrics']
        histories[run][seed] = result.get('evaluations', [result['metrics']])

    results = {run: per_seed for run, per_seed in results.items() if per_seed}
    measures = measure_runs(configs, args.task, osp.join(results_dir, 'measures.json'), list(results))

    rows = summarise(results, measures, args.task)
    os.makedirs(args.images, exist_ok=True)
    images = [(f'{section}: memory vs accuracy', osp.join(args.images, f'compare_{section}_memory_accuracy.png'))]
    plot_memory_vs_accuracy(rows, args.task, images[0][1])
    curves = learning_curves(histories, spec['metrics'][0][0])
    if any(len(steps) > 1 for steps in curves.values()):
        images.append((f'{section}: val metric at every evaluation',
                       osp.join(args.images, f'compare_{section}_curves.png')))
        plot_learning_curves(curves, args.task, images[-1][1])
    from fba_mm.core.plots import plot_module_losses
    for run in results:
        if run.endswith('-k4'):
            path = osp.join(args.images, f'compare_{section}_module_losses_{run}.png')
            if plot_module_losses(osp.join(root, run, f'seed{args.seeds[0]}'), path,
                                  title=f'{label(run)}: local loss of every module (seed {args.seeds[0]})'):
                images.append((f'{label(run)} per-module losses', path))
    extra_rows = []
    if args.task.startswith('sr'):
        from sr_samples import bicubic_row, save_samples
        e2e_cfg = run_config(args.task, 'e2e')
        extra_rows.append(bicubic_row(e2e_cfg))
        picture = save_samples(root, args.seeds[0], [r for r in ('e2e', 'slm-k2', 'slm-k4') if r in results],
                               osp.join(args.images, f'compare_{section}_samples.png'),
                               scale=e2e_cfg.model.generator.upscale_factor)
        if picture:
            images.append(('val crops: LR, bicubic, end-to-end, FBA, HR', picture))
    text = markdown(rows, args.task, command, extra_rows, [(a, osp.relpath(p, osp.dirname(args.doc)))
                                                           for a, p in images], curves, section)
    update_doc(args.doc, section, text)
    print('\n' + text)
    print(f'written to {args.doc}')


def measure_runs(configs: dict, task: str, measures_file: str, runs) -> dict:
    """The measures of ``runs`` (:func:`measure`), kept in ``measures_file`` per run with its config's fingerprint:
    measured again only where that config changed. Prints a line per run."""
    measures = json.load(open(measures_file)) if osp.exists(measures_file) else {}
    for run in runs:
        stamp = fingerprint(configs[run])
        if measures.get(run, {}).get('fingerprint') != stamp:  # none yet, or of another config
            print(f'measuring {run} (memory, speed, FLOPs) ...', flush=True)
            measures[run] = dict(measure(configs[run], task), fingerprint=stamp)
            os.makedirs(osp.dirname(measures_file), exist_ok=True)
            json.dump(measures, open(measures_file, 'w'), indent=1)
        m = measures[run]
        print(f'{run}: {m["sec_per_iter"]:.2f} s/iter, total {m["total_mib"]:.0f} MiB, {m["gflops"]:.1f} GFLOPs per '
              'training step', flush=True)
    return measures


def prepare_data(task: str) -> None:
    """Make the task's demo set, if it is not there yet (its settings then enter the runs' fingerprints)."""
    if task.startswith('det'):
        from fba_mm.det.demo_data import make_demo_det
        make_demo_det(osp.join(ROOT, 'data', 'demo_det'))
    else:
        from fba_mm.sr.demo_data import make_demo_sr
        make_demo_sr(osp.join(ROOT, 'data', 'demo_sr'))


if __name__ == '__main__':
    main()
