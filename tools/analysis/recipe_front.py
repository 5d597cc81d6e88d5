"""The accuracy-memory front of FBA's auxiliary-net recipes, from the runs ``compare.py`` trained and committed.

    python tools/analysis/recipe_front.py det --section det-12e --recipes slm slm_copy slm_fl2 [--iters 2]
    python tools/analysis/recipe_front.py sr --section sr-x2 --recipes slm slm_copy
    python tools/analysis/recipe_front.py sr-x4 --recipes slm

For end-to-end, end-to-end with checkpointing and every recipe ``<recipe>-k<K>`` (a strategy of ``compare.py``;
``slm`` is the demo config as it ships, the default):

- **accuracy**: the section's committed seeds (``docs/bench/compare/<section>/<run>/seed<s>.json``) that were
  trained from today's config (fingerprint), as mean ± std;
- **total memory at the demo's own batch**: one measured training step on the first demo batch (the section's
  ``measures.json``, shared with compare.py; measured here where missing);
- **total memory and compute of the same recipe at real size**: the task's real-size FBA config (the one
  ``tools/demo.py`` checks, whose own recipe is the default) with the recipe switched in, one measured step on a
  random batch: Faster R-CNN R50-FPN at batch 2, 512x512 (the COCO config's step); EDSR c64b16 at 16 LR patches of
  48x48. Its FLOPs (forward and backward, FlopCounterMode) and, with ``--iters N``, its seconds per iteration
  (median of N, one thread per process as torch sets it: run it on an otherwise idle machine). Cached in
  ``docs/bench/front/<section>.json`` by the config's fingerprint (a cached s/iter is kept until ``--iters``
  measures again).

Total memory is every live tensor (``max_memory_allocated`` on a GPU, torch's MemTracker on CPU). Writes the JSON,
the plot ``docs/images/front_<section>.png`` (accuracy against real-size total memory, end-to-end and
checkpointing on it) and the section ``front:<section>`` of docs/benchmarks.md.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shlex
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import compare  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

ROOT = compare.ROOT
#: the real-size FBA config of each task (its recipe is the task's default), its batch size and input size
REAL_SIZE = {
    'det': ('configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py', 2, (512, 512),
            'Faster R-CNN R50-FPN, batch 2 at 512x512'),
    'sr': ('configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py', 16, (48, 48), 'EDSR x2 c64b16, 16 x 48x48'),
    'sr-x4': ('configs/sr/edsr_x4c64b16_fba-k4_1xb16-300k_div2k.py', 16, (48, 48), 'EDSR x4 c64b16, 16 x 48x48'),
}


def real_size_config(task: str, run: str) -> Config:
    """The task's real-size FBA config with ``run``'s recipe switched in (``e2e``/``e2e_cp``: the default config,
    whose architecture is the end-to-end model)."""
    cfg = Config.fromfile(osp.join(ROOT, REAL_SIZE[task][0]))
    if run not in ('e2e', 'e2e_cp'):
        strategy = run.rsplit('-k', 1)[0]
        compare.apply_strategy(cfg, strategy)
    return cfg


def real_size_memory(task: str, runs, cache_file: str, iters: int = 0) -> dict:
    """run -> total MiB (and parts), GFLOPs and (``iters`` > 0) s/iter of one training step of the real-size model;
    cached by config fingerprint."""
    from benchmark_memory import benchmark
    cache = json.load(open(cache_file)) if osp.exists(cache_file) else {}
    _, batch_size, size, _ = REAL_SIZE[task]
    for run in runs:
        cfg = real_size_config(task, run)
        stamp = compare.fingerprint(cfg) + f'/{batch_size}x{size}'
        if cache.get(run, {}).get('fingerprint') == stamp and 'gflops' in cache[run] and not iters:
            continue
        row = {'e2e': 'e2e', 'e2e_cp': 'e2e_cp'}.get(run, 'fba')
        print(f'measuring {run} at real size ({REAL_SIZE[task][3]}) ...', flush=True)
        result = benchmark(cfg, batch_size, size, rows=[row], warmup=1, iters=iters)[row]
        timed = dict(sec_per_iter=result['sec_per_iter'], timed=f'median of {iters}') if iters else \
            {k: cache.get(run, {}).get(k) for k in ('sec_per_iter', 'timed') if cache.get(run, {}).get(k)}
        cache[run] = dict(total_mib=result['total_mib'], total_parts_mib=result['total_parts_mib'],
                          activation_mib=result['activation_mib'], module_total_mib=result.get('module_total_mib'),
                          gflops=result['gflops'], gflops_by_part=result['gflops_by_part'],
                          gflops_by_module=result.get('gflops_by_module'), fingerprint=stamp, **timed)
        os.makedirs(osp.dirname(cache_file), exist_ok=True)
        with open(cache_file, 'w') as f:
            json.dump(cache, f, indent=1)
    cache = {run: cache[run] for run in runs}  # measures of configs that are gone are dropped
    with open(cache_file, 'w') as f:
        json.dump(cache, f, indent=1)
    return cache


def demo_memory(task: str, section: str, runs, options) -> dict:
    """run -> compare.py's measures of one step at the demo's own batch (the section's measures.json)."""
    measures_file = osp.join(ROOT, 'docs', 'bench', 'compare', section, 'measures.json')
    measures = json.load(open(measures_file)) if osp.exists(measures_file) else {}
    for run in runs:
        cfg = compare.run_config(task, run, options)
        stamp = compare.fingerprint(cfg)
        if measures.get(run, {}).get('fingerprint') != stamp:
            print(f'measuring {run} at the demo batch ...', flush=True)
            measures[run] = dict(compare.measure(cfg, task), fingerprint=stamp)
            with open(measures_file, 'w') as f:
                json.dump(measures, f, indent=1)
    return measures


def recipe_of(task: str, run: str, options) -> dict:
    if run in ('e2e', 'e2e_cp'):
        return {}
    aux = compare.run_config(task, run, options).model.aux_net
    recipe = dict(weight_source=aux.get('weight_source', 'copy'), depth=aux.get('depth', 1))
    if task == 'det':
        recipe['scale'] = aux.get('scale', 1.0)
    if aux.get('first_level'):
        recipe['first_level'] = aux.first_level
    if aux.get('crop', 1.0) < 1:
        recipe['crop'] = aux.crop
    if aux.get('with_cp'):
        recipe['with_cp'] = True
    return recipe


def rows_of(task, section, runs, options, seeds, real, demo) -> list:
    rows = []
    for run in runs:
        values = compare.committed_values(task, section, run, seeds, options)
        rows.append(dict(run=run, label=compare.label(run), recipe=recipe_of(task, run, options), values=values,
                         mean=statistics.mean(values) if values else None,
                         std=statistics.stdev(values) if len(values) > 1 else None,
                         demo_total_mib=demo.get(run, {}).get('total_mib'),
                         real_total_mib=real.get(run, {}).get('total_mib'),
                         real_gflops=real.get(run, {}).get('gflops'),
                         real_sec_per_iter=real.get(run, {}).get('sec_per_iter')))
    return rows


def markdown(task: str, section: str, rows: list, command: str, image: str) -> str:
    _, name, digits = compare.TASKS[task]['metrics'][0]
    e2e = next(r for r in rows if r['run'] == 'e2e')
    rel = lambda v, ref: f'{v / ref:.2f}' if v is not None and ref else '-'  # noqa: E731
    fmt = lambda v: f'{v:.0f}' if v is not None else '-'  # noqa: E731
    secs = lambda v: f'{v:.1f}' if v is not None else '-'  # noqa: E731
    lines = [f'### The front: {compare.TASKS[task]["title"]} ({section})', '', f'Regenerate: `{command}`', '',
             f'| run | recipe | {name} | seeds | vs e2e | total MiB, demo batch | vs e2e | '
             f'total MiB, {REAL_SIZE[task][3]} | vs e2e | GFLOPs per step, same | vs e2e | CPU s/iter, same | vs e2e |',
             '|---|---|' + '---:|' * 11]
    for r in rows:
        if r['mean'] is None:
            acc = 'not trained'
        elif r['std'] is None:
            acc = f'{r["mean"]:.{digits}f}'
        else:
            acc = f'{r["mean"]:.{digits}f} ± {r["std"]:.{digits}f}'
        ratio = '-'
        if r['mean'] is not None and e2e['mean']:
            ratio = f'{r["mean"] / e2e["mean"]:.3f}' if task == 'det' else f'{r["mean"] - e2e["mean"]:+.3f} dB'
        recipe = ', '.join(f'{k} {v}' for k, v in r['recipe'].items()) or '-'
        lines.append(f'| {r["label"]} | {recipe} | {acc} | {len(r["values"])} | {ratio} | {fmt(r["demo_total_mib"])} | '
                     f'{rel(r["demo_total_mib"], e2e["demo_total_mib"])} | {fmt(r["real_total_mib"])} | '
                     f'{rel(r["real_total_mib"], e2e["real_total_mib"])} | {fmt(r.get("real_gflops"))} | '
                     f'{rel(r.get("real_gflops"), e2e.get("real_gflops"))} | {secs(r.get("real_sec_per_iter"))} | '
                     f'{rel(r.get("real_sec_per_iter"), e2e.get("real_sec_per_iter"))} |')
    lines += ['', f'![front: {section}]({image})']
    return '\n'.join(lines) + '\n'


def plot(task: str, section: str, rows: list, out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    _, name, _ = compare.TASKS[task]['metrics'][0]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for r in rows:
        if r['mean'] is None or r['real_total_mib'] is None:
            continue
        baseline = r['run'] in ('e2e', 'e2e_cp')
        ax.errorbar(r['real_total_mib'], r['mean'], yerr=r['std'] or 0, fmt='s' if baseline else 'o', capsize=3,
                    label=f'{r["label"]} ({len(r["values"])} seeds)')
    ax.set_xlabel(f'total memory of one step, MiB\n({REAL_SIZE[task][3]})', fontsize=8)
    ax.set_ylabel(f'demo val {name}\n(mean ± std over seeds)', fontsize=8)
    ax.set_title(f'{section}: accuracy vs total memory, same recipe', fontsize=9)
    ax.legend(fontsize=6, loc='best')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('task', choices=sorted(REAL_SIZE))
    parser.add_argument('--section', help='compare.py section whose runs are read (default: the task)')
    parser.add_argument('--recipes', nargs='+', default=['slm'], help='compare.py strategies (slm = the default)')
    parser.add_argument('--k', type=int, default=4)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--doc', default='docs/benchmarks.md')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help="the section's compare.py options")
    parser.add_argument('--iters', type=int, default=0,
                        help='time N real-size steps per run (on an idle machine); 0: keep the cached times')
    args = parser.parse_args()
    os.chdir(ROOT)
    section = args.section or args.task
    command = 'python tools/analysis/recipe_front.py ' + shlex.join(sys.argv[1:])
    compare.prepare_data(args.task)
    runs = ['e2e', 'e2e_cp'] + [f'{r}-k{args.k}' for r in args.recipes]
    real = real_size_memory(args.task, runs, osp.join('docs', 'bench', 'front', f'{section}.json'), args.iters)
    demo = demo_memory(args.task, section, runs, args.cfg_options)
    rows = rows_of(args.task, section, runs, args.cfg_options, args.seeds, real, demo)
    image = osp.join('docs', 'images', f'front_{section}.png')
    plot(args.task, section, rows, image)
    with open(osp.join('docs', 'bench', 'front', f'{section}_rows.json'), 'w') as f:
        json.dump(dict(command=command, rows=copy.deepcopy(rows)), f, indent=1)
    text = markdown(args.task, section, rows, command, osp.relpath(image, osp.dirname(args.doc)))
    compare.update_doc(args.doc, f'front:{section}', text)
    print('\n' + text)


if __name__ == '__main__':
    main()
