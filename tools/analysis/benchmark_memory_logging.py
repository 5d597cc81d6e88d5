"""What ModuleMemoryHook's memory logging costs: seconds of one training step with and without the measurement
(total memory by torch's MemTracker on CPU, activation memory by saved-tensor hooks), on one real batch of each
demo set, in one run.

    python tools/analysis/benchmark_memory_logging.py [--configs CONFIG ...] [--iters N] [--json FILE]

The ratio decides how often ModuleMemoryHook measures by default (its ``interval``): on CPU the tracker runs Python on
every tensor operation, so a model made of many small operations (a two-stage detector's heads) pays far more
than a convolution stack.
"""
import argparse
import copy
import json
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from mmengine.config import Config  # noqa: E402

import fba_mm  # noqa: E402,F401

CONFIGS = ['configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py', 'configs/sr/demo/edsr_x2c32b8_fba-k4_demo.py']


def step_seconds(model, optim_wrapper, batch, measure: bool, iters: int) -> float:
    from fba_mm.core import StepMemory, StepObserver
    times = []
    with model.observers.watching(StepMemory() if measure else StepObserver()):
        for _ in range(iters):
            b = copy.deepcopy(batch)
            start = time.perf_counter()
            model.train_step(b, optim_wrapper)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def benchmark(config: str, iters: int) -> dict:
    import torch
    from compare import build_for_step, prepare_data
    cfg = Config.fromfile(osp.join(ROOT, config))
    prepare_data('det' if cfg.default_scope == 'mmdet' else 'sr')
    model, optim_wrapper, batch = build_for_step(cfg)
    model.train()
    step_seconds(model, optim_wrapper, batch, False, 1)  # warm-up: the optimizer state exists from here
    plain = step_seconds(model, optim_wrapper, batch, False, iters)
    measured = step_seconds(model, optim_wrapper, batch, True, iters)
    return dict(config=config, plain_s=plain, measured_s=measured, ratio=measured / plain, iters=iters,
                torch_threads=torch.get_num_threads())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', default=CONFIGS)
    parser.add_argument('--iters', type=int, default=3, help='timed steps of each kind (median)')
    parser.add_argument('--json', default='docs/bench/memory_logging_cost.json')
    args = parser.parse_args()
    rows = [benchmark(c, args.iters) for c in args.configs]
    print('| config | step s | measured step s | ratio |\n|---|---:|---:|---:|')
    for r in rows:
        print(f'| {osp.basename(r["config"])} | {r["plain_s"]:.2f} | {r["measured_s"]:.2f} | {r["ratio"]:.1f} |')
    with open(osp.join(ROOT, args.json), 'w') as f:
        json.dump(dict(command='python tools/analysis/benchmark_memory_logging.py', rows=rows), f, indent=1)
    print(f'written to {args.json}')


if __name__ == '__main__':
    main()
