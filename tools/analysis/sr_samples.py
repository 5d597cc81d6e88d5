"""The SR demo's reference row and picture: bicubic upsampling scored by the same mmagic metrics, and val crops
(LR, bicubic, the trained models, HR) side by side. Used by compare.py; also runs alone:

    python tools/analysis/sr_samples.py [--work-root work_dirs/compare/sr] [--seed 0] [--out docs/images/x.png]
"""
import argparse
import glob
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

VAL = 'data/demo_sr/val'
TITLES = {'e2e': 'end-to-end', 'slm-k2': 'FBA K=2', 'slm-k4': 'FBA K=4'}


def val_pairs(scale: int = 2):
    """(name, LR, HR) of every val photo, RGB uint8."""
    out = []
    for path in sorted(glob.glob(osp.join(ROOT, VAL, 'HR', '*.png'))):
        name = osp.basename(path)
        hr = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
        lr = cv2.cvtColor(cv2.imread(osp.join(ROOT, VAL, f'LRbicx{scale}', name)), cv2.COLOR_BGR2RGB)
        out.append((name, lr, hr))
    return out


def bicubic_upsample(lr: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB-like bicubic upsampling (mmagic's MATLABLikeResize), the usual SR baseline."""
    from mmagic.datasets.transforms import MATLABLikeResize
    out = MATLABLikeResize(keys=[], scale=scale)._resize(lr.astype(np.float32))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def score(cfg, pairs_pred) -> dict:
    """The config's val metrics (mmagic's PSNR/SSIM classes) on given (HR, prediction) pairs."""
    from mmagic.registry import METRICS
    from mmengine.registry import DefaultScope
    results = {}
    with DefaultScope.overwrite_default_scope('mmagic'):
        for metric_cfg in cfg.val_evaluator.metrics:
            metric = METRICS.build(dict(metric_cfg))
            metric.size = len(pairs_pred)
            samples = [dict(gt_img=torch.from_numpy(hr).permute(2, 0, 1).float(),
                            output=dict(pred_img=torch.from_numpy(pred).permute(2, 0, 1).float()))
                       for hr, pred in pairs_pred]
            metric.process([None] * len(samples), samples)
            results.update(metric.evaluate())
    return results


def bicubic_row(cfg):
    """('bicubic', [PSNR, SSIM]) on the val split, scored like the trained models."""
    scale = cfg.model.generator.upscale_factor
    metrics = score(cfg, [(hr, bicubic_upsample(lr, scale)) for _, lr, hr in val_pairs(scale)])
    return 'bicubic upsampling (no training)', [f'{metrics["PSNR"]:.2f}', f'{metrics["SSIM"]:.4f}']


def load_editor(work_dir: str):
    """The stock editor of a finished run, with its stock weights (FBA runs: the stripped ``*_stock.pth``)."""
    from mmengine.config import Config
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(osp.join(work_dir, 'config.py'))
    model_cfg = cfg.model.get('architecture', cfg.model)
    stock = glob.glob(osp.join(work_dir, 'iter_*_stock.pth'))
    with DefaultScope.overwrite_default_scope('mmagic'):
        model = MODELS.build(model_cfg)
    load_checkpoint(model, last_checkpoint(stock or glob.glob(osp.join(work_dir, 'iter_*.pth'))),
                    map_location='cpu', strict=True, logger='silent')
    return model.eval()


def last_checkpoint(paths):
    """The checkpoint of the highest iteration among ``iter_<n>[_stock].pth`` paths."""
    return max(paths, key=lambda p: int(osp.basename(p).split('_')[1].split('.')[0]))


def lr_tensor(lr: np.ndarray) -> torch.Tensor:
    """An RGB uint8 LR image as the editor's preprocessed input (1, 3, h, w) in [0, 1]."""
    return torch.from_numpy(lr).permute(2, 0, 1).float()[None] / 255.


def to_image(out: torch.Tensor) -> np.ndarray:
    """A generator output (1, 3, H, W) in [0, 1] as an RGB uint8 image."""
    return (out[0].clamp(0, 1) * 255.).round().byte().permute(1, 2, 0).numpy()


@torch.no_grad()
def super_resolve(model, lr: np.ndarray) -> np.ndarray:
    return to_image(model.generator(lr_tensor(lr)))


def busiest_crop(hr: np.ndarray, size: int, scale: int):
    """Top-left corner (on the HR grid, a multiple of ``scale``) of the crop with the most edges."""
    gray = cv2.cvtColor(hr, cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = np.abs(cv2.Laplacian(gray, cv2.CV_32F))
    best, corner = -1, (0, 0)
    for y in range(0, hr.shape[0] - size + 1, size // 4 // scale * scale):
        for x in range(0, hr.shape[1] - size + 1, size // 4 // scale * scale):
            e = energy[y:y + size, x:x + size].sum()
            if e > best:
                best, corner = e, (y, x)
    return corner


def save_samples(root: str, seed: int, runs, out_file: str, scale: int = 2, size: int = 96):
    """One row per val photo: LR (nearest), bicubic, each run's output, HR, on the busiest ``size`` px crop."""
    from mmagic.evaluation.metrics.psnr import psnr
    models = {}
    for run in runs:
        work_dir = osp.join(root, run, f'seed{seed}')
        if glob.glob(osp.join(work_dir, 'iter_*.pth')):
            models[run] = load_editor(work_dir)
    if not models:
        return None
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    pairs = val_pairs(scale)
    cols = 3 + len(models)
    fig, axes = plt.subplots(len(pairs), cols, figsize=(2.1 * cols, 2.35 * len(pairs)), dpi=120, squeeze=False)
    for row, (name, lr, hr) in zip(axes, pairs):
        y, x = busiest_crop(hr, size, scale)
        crop = lambda img: img[y:y + size, x:x + size]  # noqa: E731
        panels = [(f'{osp.splitext(name)[0]}: LR (nearest)',
                   cv2.resize(lr, hr.shape[1::-1], interpolation=cv2.INTER_NEAREST), False),
                  ('bicubic', bicubic_upsample(lr, scale), True)]
        panels += [(TITLES.get(run, run), super_resolve(model, lr), True) for run, model in models.items()]
        panels.append(('HR', hr, False))
        for ax, (title, img, scored) in zip(row, panels):
            ax.imshow(crop(img), interpolation='nearest')
            if scored:  # PSNR of this crop, Y channel, like the val metric
                title += f'\n{psnr(crop(hr), crop(img), crop_border=0, convert_to="Y"):.2f} dB'
            ax.set_title(title, fontsize=8)
            ax.axis('off')
    fig.suptitle(f'val crops, x{scale} (seed {seed}; PSNR of the crop, Y)', fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file)
    plt.close(fig)
    return out_file


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-root', default='work_dirs/compare/sr')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--runs', nargs='+', default=['e2e', 'slm-k2', 'slm-k4'])
    parser.add_argument('--out', default='docs/images/compare_sr_samples.png')
    args = parser.parse_args()
    import fba_mm.sr  # noqa: F401
    print(save_samples(args.work_root, args.seed, args.runs, args.out))


if __name__ == '__main__':
    main()
