"""Where an FBA SR model loses PSNR, module by module: the PSNR of every auxiliary net's own SR output (what its
local loss trains module k towards) beside the real network's, on the demo val photos, for trained compare.py
runs.

    python tools/analysis/sr_module_psnr.py work_dirs/compare/sr-x4 --runs e2e slm-k4 slm_nobank-k4 \
        [--seeds 0 1 2] [--out docs/bench/sr_x4_module_psnr.json] [--plot docs/images/sr_x4_module_psnr.png]

For a run trained by FBA with K modules, row k < K is auxiliary net k's output (module k's features through its
copied blocks and tail copy), and row K the real tail's output (the trained network itself). An end-to-end run
has its one row. PSNR/SSIM are mmagic's, on Y with a border of ``scale`` cropped, as the val metric. A module
whose auxiliary output scores far below the final network trains towards a target the real network does not
share; an auxiliary output above it means the later modules add little.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import MODELS, DefaultScope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from sr_samples import last_checkpoint, lr_tensor, to_image, val_pairs  # noqa: E402

import fba_mm.sr  # noqa: E402,F401


def load_run(work_dir: str):
    """The trained model of a compare.py run (FBA runs: with their auxiliary nets), in eval mode, and its scale."""
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
    checkpoints = [p for p in glob.glob(osp.join(work_dir, 'iter_*.pth')) if not p.endswith('_stock.pth')]
    if not checkpoints:
        raise FileNotFoundError(f'{work_dir}: no iter_*.pth checkpoint (train the run with compare.py first)')
    with DefaultScope.overwrite_default_scope('mmagic'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, last_checkpoint(checkpoints), map_location='cpu', strict=True, logger='silent')
    scale = cfg.model.get('architecture', cfg.model).generator.upscale_factor
    return model.eval(), scale


@torch.no_grad()
def module_scores(model, scale: int) -> list:
    """[(PSNR, SSIM) mean over the val photos] per module (one entry for an end-to-end model)."""
    from mmagic.evaluation.metrics.psnr import psnr
    from mmagic.evaluation.metrics.ssim import ssim
    per_module = None
    for _, lr, hr in val_pairs(scale):
        x = lr_tensor(lr)
        outputs = model.predict_by_module(x) if hasattr(model, 'predict_by_module') else [model.generator(x)]
        per_module = per_module or [[] for _ in outputs]
        for scores, out in zip(per_module, outputs):
            img = to_image(out)
            scores.append((psnr(hr, img, crop_border=scale, convert_to='Y'),
                           ssim(hr, img, crop_border=scale, convert_to='Y')))
    return [(statistics.mean(p for p, _ in s), statistics.mean(q for _, q in s)) for s in per_module]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help="compare.py's work dirs of one section, e.g. work_dirs/compare/sr-x4")
    parser.add_argument('--runs', nargs='+', required=True)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--out', help='JSON of every score')
    parser.add_argument('--plot', help='PNG: PSNR of every module output, mean ± std over the seeds')
    args = parser.parse_args()
    results = {}
    for run in args.runs:
        for seed in args.seeds:
            work_dir = osp.join(args.root, run, f'seed{seed}')
            if not osp.isdir(work_dir):
                print(f'{work_dir}: missing, skipped')
                continue
            model, scale = load_run(work_dir)
            results.setdefault(run, {})[seed] = module_scores(model, scale)
            print(run, seed, ' '.join(f'{p:.2f}' for p, _ in results[run][seed]), flush=True)
    lines = ['| run | output | PSNR (dB) | SSIM | seeds |', '|---|---|---:|---:|---:|']
    summary = {}
    for run, per_seed in results.items():
        num = len(next(iter(per_seed.values())))
        for k in range(num):
            psnrs = [s[k][0] for s in per_seed.values()]
            ssims = [s[k][1] for s in per_seed.values()]
            std = statistics.stdev(psnrs) if len(psnrs) > 1 else 0.0
            what = 'the network' if k == num - 1 else f'aux net of module {k + 1}'
            summary.setdefault(run, []).append(dict(output=what, psnr=statistics.mean(psnrs), psnr_std=std,
                                                    ssim=statistics.mean(ssims), seeds=len(psnrs)))
            lines.append(f'| {run} | {what} | {statistics.mean(psnrs):.2f} ± {std:.2f} | '
                         f'{statistics.mean(ssims):.4f} | {len(psnrs)} |')
    table = '\n'.join(lines)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(command='python tools/analysis/sr_module_psnr.py ' + ' '.join(sys.argv[1:]),
                           per_seed=results, summary=summary), f, indent=1)
    if args.plot:
        plot(summary, args.plot)


def plot(summary: dict, out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=120)
    for run, rows in summary.items():
        # an end-to-end run's one output stands at the last module, beside the FBA network's
        xs = list(range(1, len(rows) + 1)) if len(rows) > 1 else [max(len(r) for r in summary.values())]
        ax.errorbar(xs, [r['psnr'] for r in rows], yerr=[r['psnr_std'] for r in rows], marker='o', capsize=3,
                    label=run)
    ax.set_xlabel('module k (the last: the real network)')
    ax.set_ylabel('val PSNR of the output (dB, Y)')
    ax.set_title('SR output of every auxiliary net and of the network', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)


if __name__ == '__main__':
    main()
