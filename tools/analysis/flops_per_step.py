"""FLOPs of one training step, forward and backward, for end-to-end, end-to-end with checkpointing and FBA with one
auxiliary-net option at several values: benchmark_memory.py's rows without the memory and the timing, so a sweep
takes one step per row.

    python tools/analysis/flops_per_step.py CONFIG --option first_level --values 0 1 2 [--input-size H W]
                                            [--batch-size N] [--json FILE] [--cfg-options k=v ...]

Counted by ``fba_mm.core.benchmark.count_flops`` (torch's FlopCounterMode; mmcv's compiled RoIAlign and NMS count
zero), split by module and part. Weights are random; FLOPs do not depend on them, nor on the machine.
"""
import argparse
import copy
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402
from benchmark_memory import flops_table, variants  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402

import fba_mm  # noqa: E402,F401
from fba_mm.core.benchmark import benchmark_recipe, count_flops  # noqa: E402


def number(text: str):
    """``'2'`` -> 2, ``'0.5'`` -> 0.5, anything else (``'own'``) as it is."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--option', default='first_level', help='the aux_net key to sweep')
    parser.add_argument('--values', nargs='+', default=[], help='its values (numbers where they parse)')
    parser.add_argument('--input-size', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope', 'mmdet')
    recipe = benchmark_recipe(scope)  # registered by the task adapter the config imports
    batch = recipe.batch(cfg.model.architecture, args.batch_size, *args.input_size)
    rows = variants(cfg.model, recipe)
    todo = {'e2e': rows['e2e'], 'e2e_cp': rows['e2e_cp'], 'fba': rows['fba']}
    for value in args.values:
        value = number(value)
        model_cfg = copy.deepcopy(rows['fba'][0])
        model_cfg.aux_net[args.option] = value
        todo[f'fba_{args.option}={value}'] = (model_cfg, True)
    results = {}
    for name, (model_cfg, local) in todo.items():
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope(scope):
            model = MODELS.build(copy.deepcopy(model_cfg))
        model.init_weights()
        optim = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.0))  # FLOPs do not depend on it
        if local:
            optim['constructor'] = 'LocalOptimWrapperConstructor'
        results[name] = count_flops(model, build_optim_wrapper(model, optim), batch, recipe.flop_parts)
        gflops = results[name]['gflops']
        print(f'{name}: {gflops:.1f} GFLOPs ({gflops / results["e2e"]["gflops"]:.2f}x end-to-end)', flush=True)
    for name, r in results.items():
        if r.get('gflops_by_module'):
            print(flops_table(name, r))
    if args.json:
        with open(args.json, 'w') as f:
            command = ' '.join(['python', 'tools/analysis/flops_per_step.py'] + sys.argv[1:])
            meta = dict(config=args.config, batch_size=args.batch_size, input_size=args.input_size, command=command)
            json.dump(dict(results, meta=meta), f, indent=1)


if __name__ == '__main__':
    main()
