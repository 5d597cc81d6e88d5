"""Total memory, activation memory, FLOPs and speed of one training step: end-to-end vs FBA, with and without
activation checkpointing, on the same random batch, in one run.

    python tools/analysis/benchmark_memory.py CONFIG [--input-size H W] [--batch-size N] [--only ROW ...]
                                              [--json FILE] [--from-json FILE] [--cfg-options k=v ...]

CONFIG is a fba_mm config (model type LocalLearningDetector / LocalLearningEditor); its ``architecture`` is
the end-to-end baseline. The rows:

    e2e        the stock model, end to end
    e2e_cp     the stock model with activation checkpointing (with_cp=True in the backbone / body)
    fba        the FBA config as it is (measured by default only when it is not an SLM config)
    fba_copy   FBA with SLM's trained copies (weight_source='copy')     } SLM configs: the config with
    fba_tied   FBA with SLM tied to the main parts ('tied')              } aux_net.weight_source switched;
    fba_ema    FBA with SLM's EMA copies ('ema')                        } the config's own is marked *
    fba_cp     the FBA config with activation checkpointing in its modules and auxiliary nets' blocks

Total memory is what a user sees: the peak of every live tensor over one whole step after 2 warm-up steps
(parameters, buffers, gradients, optimizer state, activations, checkpointing's recomputation, temporaries,
the feature bank): ``max_memory_allocated`` on a GPU, torch's tensor tracker (MemTracker) on CPU, with its
breakdown by category in the JSON. Activation memory, the secondary column, is the peak of bytes saved for
backward. FLOPs are those of one whole step, forward and backward, counted by torch's FlopCounterMode (aten
matmuls and convolutions, checkpointing's recomputation included; mmcv's compiled RoIAlign and NMS count zero),
with, for FBA, a table by module and part (own blocks, auxiliary blocks, neck, dense heads, RoI heads). s/iter is
the median of ``--iters`` steps: compare it only within one run on an otherwise idle machine. Weights are random
(init_cfg dropped): no download.
"""
import argparse
import copy
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402

import fba_mm  # noqa: E402,F401
from fba_mm.core import WEIGHT_SOURCES  # noqa: E402
from fba_mm.core.benchmark import BenchmarkRecipe, benchmark_recipe, measure_training  # noqa: E402


def drop_init_cfg(cfg):
    """No pretrained weights: the benchmark measures memory and speed, and must not download."""
    if isinstance(cfg, dict):
        cfg.pop('init_cfg', None)
        for v in cfg.values():
            drop_init_cfg(v)
    elif isinstance(cfg, (list, tuple)):
        for v in cfg:
            drop_init_cfg(v)
    return cfg


ROWS = ('e2e', 'e2e_cp', 'fba', 'fba_copy', 'fba_tied', 'fba_ema', 'fba_cp')


def variants(model_cfg, recipe: BenchmarkRecipe):
    """The rows: name -> (model config, is_local_learner); ``recipe``: the task's, which makes the checkpointed ones."""
    arch = drop_init_cfg(copy.deepcopy(model_cfg.architecture))
    fba = copy.deepcopy(model_cfg)
    fba.architecture = arch
    rows = dict(e2e=(arch, False), e2e_cp=recipe.end_to_end_checkpointed(arch), fba=(fba, True))
    if fba.get('aux_net', {}).get('type', 'SLMAuxNet') == 'SLMAuxNet':
        for source in WEIGHT_SOURCES.module_dict:
            switched = copy.deepcopy(fba)
            switched.aux_net = dict(switched.get('aux_net', dict(type='SLMAuxNet')), weight_source=source)
            rows[f'fba_{source}'] = (switched, True)
    rows['fba_cp'] = (recipe.fba_checkpointed(fba), True)
    return rows


def benchmark(cfg: Config, batch_size: int, input_size, rows=None, warmup: int = 2, iters: int = 3,
              flops: bool = True) -> dict:
    """Measure ``rows`` (default: all) of fba_mm config ``cfg`` on one random batch; name -> measurements."""
    if 'architecture' not in cfg.model:
        raise SystemExit(f'{cfg.filename}: model has no "architecture"; give a fba_mm config (its architecture is '
                         'the baseline)')
    scope = cfg.get('default_scope', 'mmdet')
    recipe = benchmark_recipe(scope)  # registered by the task adapter the config imports
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = recipe.batch(cfg.model.architecture, batch_size, *input_size)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.pop('constructor', None)
    results = {}
    variants_ = variants(cfg.model, recipe)
    selected = rows or [r for r in variants_ if not (r == 'fba' and 'fba_copy' in variants_)]
    for name, (model_cfg, local) in variants_.items():
        if name not in selected:
            continue
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(copy.deepcopy(model_cfg)).to(device)  # rows share configs; DETRs edit theirs
        model.init_weights()
        ow_cfg = dict(copy.deepcopy(optim_cfg), **(dict(constructor='LocalOptimWrapperConstructor') if local else {}))
        optim_wrapper = build_optim_wrapper(model, ow_cfg)
        results[name] = measure_training(model, optim_wrapper, batch, warmup=warmup, iters=iters,
                                         part_rules=recipe.flop_parts if flops else None)
        print(f'[{name}] ' + ', '.join(f'{k}={v:.3f}' if isinstance(v, float) else f'{k}={v}'
                                       for k, v in results[name].items()), file=sys.stderr, flush=True)
        del model, optim_wrapper
        if device == 'cuda':
            torch.cuda.empty_cache()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--input-size', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=2, help='steps before the measured one (>= 1: optimizer state)')
    parser.add_argument('--iters', type=int, default=3, help='timed steps per row after the measured one (median); '
                        '0: no timing')
    parser.add_argument('--only', nargs='+', choices=ROWS, help='rows to measure (default: all)')
    parser.add_argument('--no-flops', action='store_true', help='do not count FLOPs (one step less per row)')
    parser.add_argument('--json', help='also write the numbers here')
    parser.add_argument('--from-json', help='measure nothing: print the table of a JSON this script wrote')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.aux_net.scale=0.5')
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.from_json:
        results = json.load(open(args.from_json))
        meta = results.pop('meta')
        print(report(results, cfg, meta['batch_size'], meta['input_size']))
        return
    results = benchmark(cfg, args.batch_size, args.input_size, args.only, args.warmup, args.iters,
                        flops=not args.no_flops)
    print(report(results, cfg, args.batch_size, args.input_size))
    if args.json:
        meta = dict(config=args.config, batch_size=args.batch_size, input_size=args.input_size, device=_device_name(),
                    weight_source=cfg.model.get('aux_net', {}).get('weight_source', 'copy'),
                    command=' '.join(['python', 'tools/analysis/benchmark_memory.py'] + sys.argv[1:]))
        with open(args.json, 'w') as f:
            json.dump(dict(results, meta=meta), f, indent=2)


def _device_name() -> str:
    return torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'


def report(results, cfg, batch_size, input_size) -> str:
    """The markdown table (total memory first, as a user measures it, then FLOPs and s/iter), the per-module
    memory peaks and, for FBA, the FLOPs by module and part."""
    base = results.get('e2e')
    rel = lambda r, key: f'{r[key] / base[key]:.2f}' if base and r.get(key) and base.get(key) else '-'  # noqa: E731
    own = 'fba_' + cfg.model.get('aux_net', {}).get('weight_source', 'copy')
    how = 'max_memory_allocated' if torch.cuda.is_available() else 'every live tensor, MemTracker'
    timed = any(r['sec_per_iter'] for r in results.values())
    counted = any(r.get('gflops') for r in results.values())
    lines = [f'{osp.basename(cfg.filename)}: batch {batch_size} x {input_size[0]}x{input_size[1]}, '
             f'{_device_name()} (total: {how}; activation: bytes saved for backward; GFLOPs: one step, forward and '
             'backward, FlopCounterMode, mmcv ops count zero)',
             '| run | total MiB | vs e2e | params | grads | optimizer | activations | temporaries | '
             'activation MiB | vs e2e |' + (' GFLOPs | vs e2e |' if counted else '') +
             (' s/iter | vs e2e |' if timed else ''),
             '|---|' + '---:|' * (9 + 2 * counted + 2 * timed)]
    for name, r in results.items():
        p = r['total_parts_mib']
        parts = ' | '.join(f'{p.get(k, float("nan")):.0f}' for k in ('params', 'grads', 'optimizer', 'activations',
                                                                       'temporaries'))
        flops = f' {r["gflops"]:.1f} | {rel(r, "gflops")} |' if r.get('gflops') else ' - | - |'
        secs = f' {r["sec_per_iter"]:.2f} | {rel(r, "sec_per_iter")} |' if r['sec_per_iter'] else ' - | - |'
        lines.append(f'| {name}{"*" if name == own else ""} | {r["total_mib"]:.1f} | {rel(r, "total_mib")} | {parts} | '
                     f'{r["activation_mib"]:.1f} | {rel(r, "activation_mib")} |' + (flops if counted else '') +
                     (secs if timed else ''))
    for name, r in results.items():
        if r.get('module_total_mib'):
            lines.append(f'{name} total peak per module (MiB): ' +
                         ', '.join(f'{k} {v:.1f}' for k, v in r['module_total_mib'].items()) +
                         f'; bank {r["bank_mib"]:.1f}')
    for name, r in results.items():
        if r.get('gflops_by_module'):
            lines.append(flops_table(name, r))
    return '\n'.join(lines)


def flops_table(name: str, r: dict) -> str:
    """GFLOPs of row ``name`` by local module (rows) and part (columns)."""
    modules = r['gflops_by_module']
    parts = sorted({p for m in modules.values() for p in m}, key=lambda p: PART_ORDER.index(p)
                   if p in PART_ORDER else len(PART_ORDER))
    lines = [f'\n{name}: GFLOPs by module and part (total {r["gflops"]:.1f})',
             '| module | ' + ' | '.join(parts) + ' | total |', '|---|' + '---:|' * (len(parts) + 1)]
    for module in sorted(modules, key=lambda m: (m in ('prefix', '-'), m)):
        row = modules[module]
        lines.append(f'| {module} | ' + ' | '.join(f'{row[p]:.1f}' if p in row else '' for p in parts) +
                     f' | {sum(row.values()):.1f} |')
    return '\n'.join(lines)


PART_ORDER = ('own blocks', 'blocks', 'aux blocks', 'neck', 'dense heads', 'RoI heads', 'transformer', 'tail',
              'other', 'outside layers')


if __name__ == '__main__':
    main()
