"""The picture of docs/architecture.md: (a) the layers of fba_mm and what imports what, (b) one training step of
``LocalLearner.train_step``. Boxes and arrows drawn with matplotlib alone; deterministic (no timestamps or version
in the PNG), a few seconds on CPU::

    python tools/analysis/plot_architecture.py [--out docs/images/architecture.png]
"""
import argparse
import os.path as osp

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OUT = osp.join(ROOT, 'docs', 'images', 'architecture.png')

# who provides a part: fba_mm/core, a task adapter (fba_mm/det or fba_mm/sr), the stock OpenMMLab model, a library
CORE, ADAPTER, STOCK, LIB, TOOLS = '#cfe2f3', '#d9ead3', '#eeeeee', '#ffffff', '#fff2cc'
EDGE, FRAME, NOTE = '#333333', '#7f7f7f', '#555555'
FONT = 10


def box(ax, x0, y0, x1, y1, text, color, size=FONT, weight='normal', edge=EDGE):
    """A rounded box from (x0, y0) to (x1, y1) with centred text; returns its centre and edges."""
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle='round,pad=0,rounding_size=0.8',
                                facecolor=color, edgecolor=edge, linewidth=1.0))
    ax.text((x0 + x1) / 2, (y0 + y1) / 2, text, ha='center', va='center', fontsize=size, weight=weight,
            linespacing=1.25)
    return dict(l=x0, r=x1, b=y0, t=y1, x=(x0 + x1) / 2, y=(y0 + y1) / 2)


def frame(ax, x0, y0, x1, y1, label, ha='left', size=FONT - 1):
    """A dashed frame (a context the step enters) with its label inside, at the top left (or right)."""
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle='round,pad=0,rounding_size=1.0',
                                facecolor='none', edgecolor=FRAME, linewidth=1.0, linestyle=(0, (4, 3))))
    ax.text(x0 + 1.0 if ha == 'left' else x1 - 0.8, y1 - 0.9, label, ha=ha, va='top', fontsize=size, color=NOTE,
            style='italic')


def arrow(ax, p, q, label=None, rad=0.0, offset=(0.0, 0.0), ha='center', style='-|>', color=EDGE, size=FONT - 1):
    ax.add_patch(FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=11, linewidth=1.1, color=color,
                                 connectionstyle=f'arc3,rad={rad}', shrinkA=0, shrinkB=0))
    if label:
        ax.text((p[0] + q[0]) / 2 + offset[0], (p[1] + q[1]) / 2 + offset[1], label, ha=ha, va='center',
                fontsize=size, color=NOTE)


def layers(ax):
    """(a) tools on top, the adapters beside the engine, the libraries each imports below."""
    ax.text(1, 69.2, '(a) The layers: an arrow means "imports"', fontsize=FONT + 1, weight='bold', va='center')
    tools = box(ax, 2, 61, 98, 66, 'tools/   train.py · test.py · dist_train.sh · demo.py · analysis/ · '
                'model_converters/ · misc/', TOOLS)
    det = box(ax, 2, 51.5, 30, 57.5, 'fba_mm/det\nthe mmdet adapter', ADAPTER, weight='bold')
    core = box(ax, 37, 51.5, 63, 57.5, 'fba_mm/core\nthe task-agnostic engine', CORE, weight='bold')
    sr = box(ax, 70, 51.5, 98, 57.5, 'fba_mm/sr\nthe mmagic adapter', ADAPTER, weight='bold')
    mmdet = box(ax, 2, 44, 30, 48, 'mmdet 3.3 (+ mmcv)', LIB)
    base = box(ax, 37, 44, 63, 48, 'torch + mmengine only', LIB)
    mmagic = box(ax, 70, 44, 98, 48, 'mmagic 1.2', LIB)
    for part in (det, core, sr):
        arrow(ax, (part['x'], tools['b']), (part['x'], part['t']))
    arrow(ax, (det['r'], det['y']), (core['l'], core['y']))
    arrow(ax, (sr['l'], sr['y']), (core['r'], core['y']))
    for upper, lower in ((det, mmdet), (core, base), (sr, mmagic)):
        arrow(ax, (upper['x'], upper['b']), (lower['x'], lower['t']))


def step(ax):
    """(b) one call of LocalLearner.train_step, module k < K above, the last module K below."""
    ax.text(1, 41.6, '(b) One training step: LocalLearner.train_step', fontsize=FONT + 1, weight='bold',
            va='center')
    for i, (color, what) in enumerate(((CORE, 'core'), (ADAPTER, 'adapter'), (STOCK, 'stock model'))):
        x = 62 + i * 12.5
        ax.add_patch(FancyBboxPatch((x, 40.6), 2.2, 2.0, boxstyle='round,pad=0,rounding_size=0.4',
                                    facecolor=color, edgecolor=EDGE, linewidth=0.8))
        ax.text(x + 2.9, 41.6, what, fontsize=FONT - 1, va='center')
    frame(ax, 0.8, 0.6, 99.2, 39.6, 'observers.step(): StepMemory (memory), IsolationGuard (isolation), installed '
          'by hooks; the feature bank is emptied after every step')

    # module k < K: blocks -> auxiliary net -> local loss -> its own optimizer wrapper
    frame(ax, 36.0, 23.0, 98.2, 37.4, 'k = 1..K-1, inside observers.module(k) and aux_weights(k): tied weights '
          'bound (weight source)')
    pre = box(ax, 2.0, 26, 19.0, 33, 'data_preprocessor', STOCK)
    prefix = box(ax, 21.5, 26, 33.5, 33, 'prefix\nstem + frozen\n(no_grad)', STOCK)
    mod = box(ax, 38.5, 26, 52.5, 33, 'module k\nits blocks\n(layout)', STOCK)
    aux = box(ax, 57.5, 26, 75.0, 33, 'auxiliary net k\n(AuxNet)\n\u2192 local loss', ADAPTER)
    opt = box(ax, 79.5, 26, 97.0, 33, 'OptimWrapper $m_k$\n.update_params\nor skip (SkipPolicy)', CORE)
    arrow(ax, (pre['r'], pre['y']), (prefix['l'], prefix['y']))
    arrow(ax, (prefix['r'], prefix['y']), (mod['l'], mod['y']))
    arrow(ax, (mod['r'], mod['y']), (aux['l'], aux['y']), 'live', offset=(0, 1.2))
    arrow(ax, (aux['r'], aux['y']), (opt['l'], opt['y']), 'loss', offset=(0, 1.2))

    # between the modules: the handover, and the bank of detached features
    det = box(ax, 38.5, 14.6, 52.5, 20.2, 'detach_output\n\u2192 handover', CORE)
    bank = box(ax, 57.5, 14.6, 97.0, 20.2, 'feature bank: detached features that the prefix\nand modules 1..K-1 '
               'pushed (C2..C5, the SR skip)', CORE)
    arrow(ax, (45.5, mod['b']), (45.5, det['t']))
    arrow(ax, (det['l'], det['y'] + 0.5), (mod['l'] + 1.0, mod['b']), 'k+1 < K', rad=-0.55, offset=(-5.8, 0.3))
    arrow(ax, (51.0, mod['b']), (bank['l'] + 3.0, bank['t']), 'push', offset=(-0.75, -1.5), ha='right')
    arrow(ax, (66.0, bank['t']), (66.0, aux['b']), 'for_aux()', offset=(0.8, -0.9), ha='left')

    # the last module: the real neck and heads (the SR tail) with the bank, the task loss, its optimizer wrapper
    frame(ax, 36.0, 1.4, 98.2, 11.8, 'k = K, inside observers.module(K)', ha='right')  # right: arrows cross its left
    last = box(ax, 38.5, 2.4, 52.5, 8.6, 'module K\nits blocks', STOCK)
    head = box(ax, 57.5, 2.4, 75.0, 8.6, 'forward_head:\nneck + heads / SR tail\n\u2192 task loss', STOCK)
    opt_k = box(ax, 79.5, 2.4, 97.0, 8.6, 'OptimWrapper $m_K$\n.update_params\nor skip', CORE)
    arrow(ax, (45.5, det['b']), (45.5, last['t']), 'k+1 = K', offset=(0.8, 1.0), ha='left')
    arrow(ax, (last['r'], last['y']), (head['l'], head['y']))
    arrow(ax, (66.0, bank['b']), (66.0, head['t']), 'for_head()', offset=(0.8, 0.9), ha='left')
    arrow(ax, (head['r'], head['y']), (opt_k['l'], opt_k['y']), 'loss', offset=(0, 1.2))
    ax.text(2.0, 5.5, 'then, if a module stepped:\nEMA copies follow\n(update_aux_weights)', fontsize=FONT - 1,
            color=NOTE, va='center')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=OUT)
    args = parser.parse_args()
    plt.rcParams.update({'font.family': 'DejaVu Sans', 'svg.hashsalt': 'fba_mm'})
    fig = plt.figure(figsize=(10, 7.1))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 71)
    ax.axis('off')
    layers(ax)
    step(ax)
    fig.savefig(args.out, dpi=120, facecolor='white', metadata={'Software': None})
    plt.close(fig)
    print(args.out)


if __name__ == '__main__':
    main()
