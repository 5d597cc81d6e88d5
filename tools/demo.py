"""The main job: make a demo set, train on it with FBA, and report.

    python tools/demo.py [CONFIG] [--work-dir DIR] [--cfg-options k=v ...]

CONFIG is a demo config: detection (default, configs/det/demo/: the generated shapes set, val bbox mAP by
mmdet's CocoMetric) or super-resolution (configs/sr/demo/: scikit-image's photographs, val PSNR/SSIM by
mmagic's metrics). Prints, for the run it trained: the metrics beside the committed end-to-end result of the same
schedule (docs/bench/compare), and the total memory (every live tensor, as max_memory_allocated counts it) and FLOPs
(forward and backward, FlopCounterMode) of one training step at the demo's own batch beside end-to-end's. Then the
same recipe at real size: total and activation memory and FLOPs of one training step of Faster R-CNN R50-FPN at
batch 2, 512x512 (EDSR x2 c64b16 at batch 16, 48x48): end-to-end, end-to-end with checkpointing and FBA's default
config, on the same batch. Saves the per-module loss curves as a plot.
"""
import argparse
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import fba_mm  # noqa: E402,F401

DEFAULT = 'configs/det/demo/faster-rcnn_r18_fpn_fba-k4_demo.py'


def det_task(cfg):
    """(make the demo set, the metrics line) for a detection demo config."""
    from fba_mm.det.demo_data import make_demo_det
    make = lambda: make_demo_det(cfg.data_root.rstrip('/'))  # noqa: E731
    report = lambda m: (f'val bbox mAP (CocoMetric): {m.get("coco/bbox_mAP", float("nan")):.3f}   '  # noqa: E731
                        f'mAP@0.5: {m.get("coco/bbox_mAP_50", float("nan")):.3f}')
    return make, report


def sr_task(cfg):
    """(make the demo set, the metrics line) for an SR demo config."""
    from fba_mm.sr.demo_data import make_demo_sr
    make = lambda: make_demo_sr(cfg.data_root)  # noqa: E731
    report = lambda m: (f'val PSNR (Y, mmagic): {m.get("PSNR", float("nan")):.2f} dB   '  # noqa: E731
                        f'SSIM: {m.get("SSIM", float("nan")):.4f}')
    return make, report


#: the real-size model of each demo's kind, and the batch its memory is measured on (at 128 px with ResNet-18 the
#: auxiliary heads are as big as the backbone, and the demo model's own figure says nothing about real use). Each
#: shares its recipe (weight source, scale, depth of the auxiliary nets) with the demo's FBA configs.
MEMORY_CHECK = dict(
    mmdet=('configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py', 2, (512, 512)),
    mmagic=('configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py', 16, (48, 48)))
#: where compare.py keeps the committed runs of each demo's own schedule (docs/bench/compare/<section>)
SECTIONS = {'det': 'det-12e', 'sr': 'sr-x2', 'sr-x4': 'sr-x4'}
#: aux_net keys that size an auxiliary net to its model and input (RoI counts, test settings, recomputation), not
#: part of the recipe a demo config shares with its real-size config
SIZING_KEYS = ('train_cfg', 'test_cfg', 'with_cp')


def recipe(cfg) -> str:
    """The auxiliary-net recipe of an FBA config: every ``aux_net`` key but ``SIZING_KEYS``."""
    aux = cfg.model.get('aux_net', {})
    return ', '.join(f'{k}={v!r}' for k, v in sorted(aux.items()) if k not in SIZING_KEYS)


def comparison_of(config: str):
    """(compare.py's task, its module) of a demo config, or (None, module) for a config compare.py does not run."""
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), 'analysis'))
    import compare
    path = osp.relpath(osp.abspath(config), compare.ROOT)
    for task, spec in compare.TASKS.items():
        if path == spec['demo'] or path in spec['fba'].values():
            return task, compare
    return None, compare


def end_to_end_reference(task: str, compare) -> str:
    """The committed end-to-end result of the demo's schedule (every seed whose config is today's), as text."""
    digits = compare.TASKS[task]['metrics'][0][2]
    section = SECTIONS.get(task, task)  # a family's task is its own section
    values = compare.committed_values(task, section, 'e2e', range(10))
    if not values:
        return 'no committed end-to-end run of this schedule'
    spread = f' ± {statistics.stdev(values):.{digits}f}' if len(values) > 1 else ''
    return (f'end-to-end, same schedule: {statistics.mean(values):.{digits}f}{spread} over {len(values)} seed(s) '
            f'(docs/bench/compare/{section})')


def own_batch_memory(cfg, task: str, compare) -> str:
    """Total memory (MemTracker on CPU, max_memory_allocated on GPU) and FLOPs of one training step of the demo config
    and of its end-to-end baseline, on the first batch of the demo train set."""
    from fba_mm.core.benchmark import measure_training
    step = {}
    for name, run_cfg in (('FBA', cfg), ('end-to-end', compare.run_config(task, 'e2e'))):
        model, optim_wrapper, batch = compare.build_for_step(run_cfg)
        step[name] = measure_training(model, optim_wrapper, batch, warmup=1, iters=0, part_rules=())
    fba, e2e = step['FBA'], step['end-to-end']
    return (f'one training step at the demo\'s own batch: total memory FBA {fba["total_mib"]:.0f} MiB = '
            f'{fba["total_mib"] / e2e["total_mib"]:.2f}x end-to-end ({e2e["total_mib"]:.0f} MiB); FLOPs FBA '
            f'{fba["gflops"]:.1f} G = {fba["gflops"] / e2e["gflops"]:.2f}x end-to-end ({e2e["gflops"]:.1f} G)')


def memory_check(scope: str) -> str:
    """One measured training step (after one warm-up step, so the optimizer state exists) of end-to-end,
    end-to-end with checkpointing and the default FBA config: total and activation memory, random weights."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from analysis.benchmark_memory import benchmark, report
    config, batch_size, size = MEMORY_CHECK[scope]
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), config))
    results = benchmark(cfg, batch_size, size, rows=['e2e', 'e2e_cp', 'fba'], warmup=1, iters=0)
    fba, e2e, cp = results['fba'], results['e2e'], results['e2e_cp']
    return (report(results, cfg, batch_size, size) + '\n' +
            f'{osp.basename(config)} ({recipe(cfg)}), batch {batch_size} at {size[0]}x{size[1]}, one training step: '
            f'total memory FBA {fba["total_mib"]:.0f} MiB = {fba["total_mib"] / e2e["total_mib"]:.2f}x end-to-end '
            f'({e2e["total_mib"]:.0f} MiB), end-to-end with checkpointing {cp["total_mib"] / e2e["total_mib"]:.2f}x; '
            f'FLOPs FBA {fba["gflops"]:.0f} G = {fba["gflops"] / e2e["gflops"]:.2f}x end-to-end '
            f'({e2e["gflops"]:.0f} G), with checkpointing {cp["gflops"] / e2e["gflops"]:.2f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--work-dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    make_data, report = (sr_task if cfg.get('default_scope') == 'mmagic' else det_task)(cfg)
    print(f'demo data: {make_data()}', flush=True)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    hub = runner.message_hub  # the last validation's metrics, logged by the train loop
    metrics = {k[len('val/'):]: v.current() for k, v in hub.log_scalars.items() if k.startswith('val/')}
    if not metrics:
        metrics = runner.val_loop.run()
    print(f'\n{osp.basename(args.config)}: {runner.iter} iterations, {report(metrics)}', flush=True)
    task, compare = comparison_of(args.config)
    local = 'architecture' in cfg.model
    lines = [report(metrics)]
    if task is not None:
        reference = end_to_end_reference(task, compare)
        if args.cfg_options:
            reference += ' (the demo\'s own schedule; --cfg-options changed this run\'s)'
        lines.append(reference)
        if local:
            print('measuring one training step at the demo\'s own batch (memory, FLOPs), FBA and end-to-end ...',
                  flush=True)
            lines.append(own_batch_memory(cfg, task, compare))
    config, batch_size, size = MEMORY_CHECK[cfg.default_scope]
    check_cfg = Config.fromfile(config)
    if local and recipe(cfg) != recipe(check_cfg):
        lines.append(f'note: {osp.basename(config)} uses another auxiliary-net recipe ({recipe(check_cfg)}) than '
                     f'this config ({recipe(cfg)})')
    print(f'measuring the memory of one training step of {osp.basename(config)} (batch {batch_size}, '
          f'{size[0]}x{size[1]}), end-to-end, with checkpointing, and with FBA ...', flush=True)
    lines.append(memory_check(cfg.default_scope))

    print('\n' + '=' * 72)
    print(f'{osp.basename(args.config)} ({recipe(cfg)}): {runner.iter} iterations, work dir {cfg.work_dir}')
    print('\n'.join(lines))
    print(f'per-module loss curves: {osp.join(cfg.work_dir, "module_losses.png")}')
    print('=' * 72)


if __name__ == '__main__':
    main()
