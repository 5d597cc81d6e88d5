"""Activation memory, state memory and speed of one training step: end-to-end vs FBA, with and without
activation checkpointing, on the same random batch, in one run.

    python tools/analysis/benchmark_memory.py CONFIG [--input-size H W] [--batch-size N] [--json FILE]

CONFIG is a fba_mm config (model type LocalLearningDetector / LocalLearningEditor); its ``architecture`` is
the end-to-end baseline. Four rows:

    e2e      the stock model, end to end
    e2e_cp   the stock model with activation checkpointing (with_cp=True in the backbone / body)
    fba      the FBA config as it is
    fba_cp   FBA with activation checkpointing inside its modules and auxiliary nets' copied blocks

Activation memory is the exact peak of bytes saved for backward on CPU, the peak allocated CUDA memory above
the steady state when a GPU is present. Weights are random (init_cfg dropped): no download.
"""
import argparse
import copy
import importlib
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import fba_mm  # noqa: E402,F401
import torch  # noqa: E402
from fba_mm.core.benchmark import measure_training  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402

TASKS = {'mmdet': 'fba_mm.det.testing', 'mmagic': 'fba_mm.sr.testing'}


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


def variants(model_cfg, task):
    """The four rows: name -> (model config, is_local_learner)."""
    arch = drop_init_cfg(copy.deepcopy(model_cfg.architecture))
    fba = copy.deepcopy(model_cfg)
    fba.architecture = arch
    return dict(e2e=(arch, False), e2e_cp=task.end_to_end_checkpointed(arch), fba=(fba, True),
                fba_cp=(task.fba_checkpointed(fba), True))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--input-size', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3, help='timed iterations per row (median; after 2 warm-up steps)')
    parser.add_argument('--only', nargs='+', choices=['e2e', 'e2e_cp', 'fba', 'fba_cp'])
    parser.add_argument('--json', help='also write the numbers here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. model.aux_net.scale=0.5')
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'architecture' not in cfg.model:
        sys.exit(f'{args.config}: model has no "architecture"; give a fba_mm config (its architecture is the baseline)')
    scope = cfg.get('default_scope', 'mmdet')
    task = importlib.import_module(TASKS[scope])
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    batch = task.benchmark_batch(cfg.model.architecture, args.batch_size, *args.input_size)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.pop('constructor', None)

    results = {}
    for name, (model_cfg, local) in variants(cfg.model, task).items():
        if args.only and name not in args.only:
            continue
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(model_cfg).to(device)
        model.init_weights()
        ow_cfg = dict(copy.deepcopy(optim_cfg), **(dict(constructor='LocalOptimWrapperConstructor') if local else {}))
        optim_wrapper = build_optim_wrapper(model, ow_cfg)
        results[name] = measure_training(model, optim_wrapper, batch, iters=args.iters)
        print(f'[{name}] ' + ', '.join(f'{k}={v:.3f}' if isinstance(v, float) else f'{k}={v}'
                                       for k, v in results[name].items()), file=sys.stderr, flush=True)
        del model, optim_wrapper
        if device == 'cuda':
            torch.cuda.empty_cache()

    base = results.get('e2e')
    print(f'\n{osp.basename(args.config)}: batch {args.batch_size} x {args.input_size[0]}x{args.input_size[1]}, '
          f'{torch.cuda.get_device_name() if device == "cuda" else "CPU"} '
          f'({"CUDA peak allocated" if device == "cuda" else "exact saved-tensor bytes"})')
    print(f'| {"run":7} | activation MiB | vs e2e | params+grads+optim MiB | s/iter | vs e2e |')
    print('|---------|---------------:|-------:|-----------------------:|-------:|-------:|')
    for name, r in results.items():
        rel_mem = f'{r["activation_mib"] / base["activation_mib"]:.2f}' if base else '-'
        rel_t = f'{r["sec_per_iter"] / base["sec_per_iter"]:.2f}' if base else '-'
        print(f'| {name:7} | {r["activation_mib"]:14.1f} | {rel_mem:>6} | {r["state_mib"]:22.1f} | '
              f'{r["sec_per_iter"]:6.2f} | {rel_t:>6} |')
    for name, r in results.items():
        if 'module_activation_mib' in r:
            print(f'{name} peak per module (MiB): ' +
                  ', '.join(f'{k} {v:.1f}' for k, v in r['module_activation_mib'].items()))
    if args.json:
        meta = dict(config=args.config, batch_size=args.batch_size, input_size=args.input_size,
                    device=torch.cuda.get_device_name() if device == 'cuda' else 'cpu')
        with open(args.json, 'w') as f:
            json.dump(dict(results, meta=meta), f, indent=2)


if __name__ == '__main__':
    main()
