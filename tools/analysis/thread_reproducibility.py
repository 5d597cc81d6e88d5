"""Is one training step bit-identical across runs, and across thread counts?

    python tools/analysis/thread_reproducibility.py [det] [sr] [--out docs/bench/thread_reproducibility.json]

For each task (both by default): builds its end-to-end demo config as ``compare.py`` does, seeds every RNG, and
takes the gradients of one step on the first train batch three times, at 1 thread, at 2 threads and at 1 thread
again. Prints and writes the largest gradient difference and whether the pairs are bit-identical. The committed
comparison runs were trained at ``OMP_NUM_THREADS=1``; this says whether a rerun at another thread count can be
expected to reproduce them bit for bit.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import compare  # noqa: E402


def step_gradients(cfg, threads: int) -> torch.Tensor:
    """Every parameter gradient of one end-to-end step, flattened, with all RNGs seeded and ``threads`` threads."""
    from mmengine.runner import set_random_seed
    torch.set_num_threads(threads)
    set_random_seed(0)  # the batch's random transforms draw from numpy's global RNG
    model, _, batch = compare.build_for_step(cfg)
    model.train()
    losses = model(**model.data_preprocessor(copy.deepcopy(batch), True), mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('tasks', nargs='*', default=['det', 'sr'], help='det and/or sr (default: both)')
    parser.add_argument('--out', default=osp.join(compare.ROOT, 'docs', 'bench', 'thread_reproducibility.json'))
    args = parser.parse_args()
    if set(args.tasks) - {'det', 'sr'}:
        parser.error(f'tasks must be det and/or sr, got {args.tasks}')
    os.chdir(compare.ROOT)
    results = dict(torch=torch.__version__)
    for task in args.tasks:
        compare.prepare_data(task)
        cfg = compare.seeded(compare.run_config(task, 'e2e'), 0)
        one, two, one_again = (step_gradients(cfg, n) for n in (1, 2, 1))
        results[task] = dict(config=compare.TASKS[task]['demo'],
                             max_abs_grad_diff_1_vs_2_threads=(one - two).abs().max().item(),
                             bit_identical_1_vs_2_threads=torch.equal(one, two),
                             bit_identical_1_thread_twice=torch.equal(one, one_again))
        print(task, ', '.join(f'{k}: {v}' for k, v in results[task].items()), flush=True)
    with open(args.out, 'w') as f:
        json.dump(results, f, indent=1)
    print(f'written to {args.out}')


if __name__ == '__main__':
    main()
