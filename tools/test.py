"""Test (and evaluate) a checkpoint, as mmdet's tools/test.py does.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--cfg-options k=v ...]

CONFIG can be the fba_mm config the model was trained with (the checkpoint as saved) or the stock config
(the ``*_stock.pth`` checkpoint written beside every saved one, or the output of tools/model_converters).
"""
import argparse
import os
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import fba_mm  # noqa: E402,F401
from fba_mm.core import ConfigError  # noqa: E402
from fba_mm.core.dist import init_cpu_distributed  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value (lists as key="[a,b]")')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def with_dump(evaluator, out):
    """``evaluator`` plus a DumpResults metric. mmagic's MultiTestLoop takes a list of Evaluators (one per test
    set): each gets its own dump (fba_mm.sr's DumpEditResults), ``out`` numbered from the second set on; mmdet's
    takes a list of metrics."""
    dump = dict(type='mmengine.DumpResults', out_file_path=out)
    if isinstance(evaluator, (list, tuple)) and evaluator and all('metrics' in e for e in evaluator):
        dump['type'] = 'DumpEditResults'
        root, ext = osp.splitext(out)
        return [dict(e, metrics=list(e['metrics']) + [dict(dump, out_file_path=out if i == 0 else f'{root}_{i}{ext}')])
                for i, e in enumerate(evaluator)]
    return (list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]) + [dump]


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl file')
        cfg.test_evaluator = with_dump(cfg.test_evaluator, args.out)

    init_cpu_distributed(args.launcher)
    try:
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        runner.test()
    except (ConfigError, pickle.UnpicklingError) as e:  # a wrong config or an untrusted file: say why, no trace
        sys.exit(f'{type(e).__name__}: {e}')


if __name__ == '__main__':
    main()
