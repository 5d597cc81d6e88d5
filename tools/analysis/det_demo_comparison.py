"""End-to-end vs FBA K=2 vs FBA K=4 on the demo detection set: same iterations, same seed.

    python tools/analysis/det_demo_comparison.py [--work-root work_dirs/cmp] [--out docs/images]

Trains each config with tools/train.py (skipped when its work dir already holds the final checkpoint), then
reads the val bbox mAP (CocoMetric) and the logged losses, prints a markdown table and saves two plots: the
real task loss of the three runs, and the per-module losses of each FBA run.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

RUNS = [('end-to-end', 'faster-rcnn_r18_fpn_demo'), ('FBA K=2', 'faster-rcnn_r18_fpn_fba-k2_demo'),
        ('FBA K=4', 'faster-rcnn_r18_fpn_fba-k4_demo'),
        ('FBA K=4, aux at half resolution', 'faster-rcnn_r18_fpn_fba-k4-auxhalf_demo')]


def final_metrics(work_dir):
    from fba_mm.core.plots import read_evaluations
    evals = read_evaluations(work_dir, 'coco/bbox_mAP')
    return evals[-1] if evals else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-root', default='work_dirs/cmp')
    parser.add_argument('--out', default='docs/images')
    args = parser.parse_args()
    from fba_mm.core.plots import plot_module_losses, read_scalars
    from fba_mm.det.demo_data import make_demo_det
    make_demo_det('data/demo_det')

    results = {}
    for label, name in RUNS:
        work_dir = osp.join(args.work_root, name)
        if final_metrics(work_dir) is None:
            print(f'training {name} ...', flush=True)
            subprocess.run([sys.executable, 'tools/train.py', f'configs/det/demo/{name}.py', '--work-dir', work_dir],
                           cwd=ROOT, check=True)
        results[label] = (work_dir, final_metrics(work_dir))

    base = results['end-to-end'][1]['coco/bbox_mAP']
    print('| run | bbox mAP | mAP@0.5 | mAP@0.75 | vs end-to-end | iterations |')
    print('|---|---:|---:|---:|---:|---:|')
    for label, (work_dir, m) in results.items():
        iters = read_scalars(work_dir)[-1]['iter']
        print(f'| {label} | {m["coco/bbox_mAP"]:.3f} | {m["coco/bbox_mAP_50"]:.3f} | {m["coco/bbox_mAP_75"]:.3f} | '
              f'{m["coco/bbox_mAP"] / base:.2f} | {iters} |')

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for label, (work_dir, _) in results.items():
        rows = read_scalars(work_dir)
        ax.plot([r['iter'] for r in rows], [r['loss'] for r in rows], label=label, lw=1.2)
    ax.set_xlabel('iteration')
    ax.set_ylabel('task loss (RPN + RoI head)')
    ax.set_title('Faster R-CNN R18 on the demo set')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(osp.join(args.out, 'det_demo_task_loss.png'))
    for label, (work_dir, _) in list(results.items())[1:]:
        name = osp.basename(work_dir).replace('faster-rcnn_r18_fpn_fba-', '').replace('_demo', '')
        plot_module_losses(work_dir, osp.join(args.out, f'det_demo_module_losses_{name}.png'),
                           title=f'{label}: local loss of every module')
    print(f'plots in {args.out}/')


if __name__ == '__main__':
    main()
