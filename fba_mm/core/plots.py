"""Plots of a local-learning run, written next to its logs."""
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional


def read_scalars(work_dir: str) -> List[Dict]:
    """Every logged training row of a work dir (all runs, resumed ones included), ordered by iteration."""
    rows = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row and 'iter' in row:
                    rows[row['iter']] = row
    return [rows[i] for i in sorted(rows)]


def read_evaluations(work_dir: str, key: str) -> List[Dict]:
    """Every logged validation row of a work dir that holds metric ``key`` (e.g. ``'coco/bbox_mAP'``, ``'PSNR'``),
    in the order they were logged."""
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            rows += [row for row in map(json.loads, f) if key in row]
    return rows


def plot_module_losses(work_dir: str, out_file: Optional[str] = None, title: str = '') -> Optional[str]:
    """Loss of every local module (m1 .. mK; mK is the real task loss) against iterations, as a PNG."""
    rows = read_scalars(work_dir)
    keys = sorted({k for r in rows for k in r if re.fullmatch(r'm\d+\.loss', k)}, key=lambda k: int(k[1:-5]))
    if not rows or not keys:
        return None
    from matplotlib.figure import Figure  # no pyplot: the process's backend stays the user's
    fig = Figure(figsize=(6, 3.6), dpi=120)
    ax = fig.subplots()
    for i, key in enumerate(keys):
        its = [r['iter'] for r in rows if key in r]
        label = f'{key[:-5]} (task head)' if i == len(keys) - 1 else f'{key[:-5]} (auxiliary net)'
        ax.plot(its, [r[key] for r in rows if key in r], label=label, lw=1.2)
    ax.set_yscale('log')  # the modules' losses differ by a few percent late in training: visible only on a log axis
    ax.set_xlabel('iteration')
    ax.set_ylabel('local loss (log scale)')
    ax.set_title(title or osp.basename(osp.normpath(work_dir)))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out_file = out_file or osp.join(work_dir, 'module_losses.png')
    fig.savefig(out_file)
    return out_file
