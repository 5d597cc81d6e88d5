"""One row per shipped FBA config: its auxiliary-net recipe, the demo accuracy of that recipe on its family's demo
beside end-to-end's, and its total memory and FLOPs of one training step at its stock size beside end-to-end with
checkpointing. Read from committed results only (nothing is trained or measured here):

- accuracy: ``docs/bench/compare/<task>/`` (``compare.py <task> --runs e2e slm-k4``), counted only where the result's
  fingerprint is today's config's;
- memory and FLOPs: the row of the config's recipe in a ``benchmark_memory.py``, ``flops_per_step.py`` or
  ``recipe_front.py`` JSON (``FAMILIES`` names them; the commands are in docs/det.md, docs/sr.md and the JSONs).

    python tools/analysis/family_table.py [--doc docs/benchmarks.md]

Writes the table between ``<!-- families:start -->`` and ``<!-- families:end -->`` of the doc.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))

import compare  # noqa: E402
from demo import recipe  # noqa: E402
from mmengine.config import Config  # noqa: E402

#: shipped FBA config -> (its family's demo as (compare task, section), or why there is none; the stock-size input
#: measured; (JSON under docs/bench, row[, JSON of the e2e and e2e_cp rows]) of its total memory and of its FLOPs, the
#: row measuring this config's recipe; None: not measured)
FAMILIES = {
    'configs/det/faster-rcnn_r50_fpn_fba-k4_1x_coco.py':
        (('det', 'det-12e'), '2 x 512x512', ('front/det-12e.json', 'slm-k4'), ('front/det-12e.json', 'slm-k4')),
    'configs/det/retinanet_r50_fpn_fba-k4_1x_coco.py':
        ('the Faster R-CNN demo trains its recipe', '2 x 512x512',
         ('retinanet_r50_k4_512_default.json', 'fba_tied', 'retinanet_k4_512.json'),
         ('retinanet_k4_512_flops.json', 'fba')),
    'configs/det/rtmdet_s_fba-k4_8xb32-300e_coco.py':
        (('det-rtmdet', 'det-rtmdet'), '2 x 640x640', ('rtmdet-s_k4_640.json', 'fba'),
         ('rtmdet-s_k4_640_flops.json', 'fba')),
    'configs/det/yolox_s_fba-k4_8xb8-300e_coco.py':
        (('det-yolox', 'det-yolox'), '2 x 640x640', ('yolox-s_k4_640.json', 'fba'),
         ('yolox-s_k4_640_flops.json', 'fba')),
    'configs/det/tood_r50_fpn_fba-k4_1x_coco.py':
        (('det-tood', 'det-tood'), '2 x 512x512', None, None),
    'configs/det/dino-4scale_r50_fba-k4_8xb2-12e_coco.py':
        (('det-dino', 'det-dino'), '2 x 512x512', None, None),
    'configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py':
        (('sr', 'sr-x2'), '16 x 48x48', ('front/sr-x2.json', 'slm-k4'), ('front/sr-x2.json', 'slm-k4')),
    'configs/sr/edsr_x4c64b16_fba-k4_1xb16-300k_div2k.py':
        (('sr-x4', 'sr-x4'), '16 x 48x48', ('front/sr-x4.json', 'slm-k4'), ('front/sr-x4.json', 'slm-k4')),
    'configs/sr/edsr_x3c64b16_fba-k4_1xb16-300k_div2k.py':
        ('no demo of its own: the x4 recipe', '16 x 48x48', None, ('edsr_x3_k4_48_crop_flops.json', 'fba_crop=0.45')),
    'configs/sr/rdn_x2c64b16_fba-k4_1xb16-1000k_div2k.py':
        (('sr-rdn', 'sr-rdn'), '16 x 32x32', ('rdn_x2_k4_b16_32_copy_crop.json', 'fba'),
         ('rdn_x2_k4_b16_32_copy_crop.json', 'fba')),
    'configs/sr/esrgan_psnr-x4c64b23g32_fba-k4_1xb16-1000k_div2k.py':
        (('sr-rrdb', 'sr-rrdb'), '16 x 32x32', ('esrgan_psnr_x4_k4_b16_32.json', 'fba_tied'),
         ('esrgan_psnr_x4_k4_b16_32_flops.json', 'fba')),
    'configs/sr/msrresnet_x4c64b16_fba-k4_1xb16-1000k_div2k.py':
        (('sr-msrresnet', 'sr-msrresnet'), '16 x 32x32', ('msrresnet_x4_k4_b16_32_copy_crop.json', 'fba'),
         ('msrresnet_x4_k4_b16_32_copy_crop.json', 'fba')),
    'configs/sr/swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py':
        (('sr-swinir', 'sr-swinir'), '4 x 64x64', ('swinir_x2_k4_b4_64.json', 'fba_tied'),
         ('swinir_x2_k4_b4_64_flops.json', 'fba')),
}


def accuracy(task: str, section: str) -> tuple:
    """(FBA cell, end-to-end cell, difference cell) from the committed runs of today's configs."""
    compare.prepare_data(task)  # the demo set's settings are part of every run's fingerprint
    digits = compare.TASKS[task]['metrics'][0][2]
    cells, values = [], {}
    for run in ('slm-k4', 'e2e'):
        values[run] = compare.committed_values(task, section, run, range(10))
        v = values[run]
        cells.append('not trained' if not v else f'{statistics.mean(v):.{digits}f}'
                     + (f' ± {statistics.stdev(v):.{digits}f}' if len(v) > 1 else '') + f' ({len(v)})')
    fba, e2e = values['slm-k4'], values['e2e']
    if not fba or not e2e:
        return cells[0], cells[1], '-'
    if task.startswith('det'):
        return cells[0], cells[1], f'{statistics.mean(fba) / statistics.mean(e2e):.3f}x'
    return cells[0], cells[1], f'{statistics.mean(fba) - statistics.mean(e2e):+.2f} dB'


def measured(source, key: str):
    """(FBA / e2e, with_cp / e2e) of ``key`` (total_mib, gflops) in ``source`` (JSON under docs/bench, row), or None."""
    if source is None or not osp.exists(osp.join(ROOT, 'docs', 'bench', source[0])):
        return None
    path, row, reference = (*source, source[0])[:3]
    rows, refs = (json.load(open(osp.join(ROOT, 'docs', 'bench', name))) for name in (path, reference))
    fba, e2e, cp = rows.get(row, {}).get(key), refs.get('e2e', {}).get(key), refs.get('e2e_cp', {}).get(key)
    return None if not fba or not e2e else (fba / e2e, cp / e2e if cp else None)


def ratio_cell(pair) -> str:
    if pair is None:
        return 'not measured'
    fba, cp = pair
    return f'{fba:.2f}x' + (f' ({cp:.2f}x)' if cp is not None else '')


def table() -> str:
    lines = ['| config | recipe | demo task | FBA K=4 (seeds) | end-to-end (seeds) | FBA vs e2e | stock input | '
             'total memory vs e2e (with_cp) | FLOPs vs e2e (with_cp) |', '|---|---|---|---:|---:|---:|---|---:|---:|']
    shipped = sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '*', '*_fba-k4_*.py')))
    for config in list(FAMILIES) + [c for c in shipped if c not in FAMILIES]:
        task, size, memory, flops = FAMILIES.get(config, ('no demo of its own yet', '-', None, None))
        cfg = Config.fromfile(osp.join(ROOT, config))
        if isinstance(task, tuple):
            fba, e2e, diff = accuracy(*task)
            name = task[1]
        else:
            fba, e2e, diff, name = 'not measured', '-', '-', task
        lines.append(f'| `{osp.basename(config)}` | {recipe(cfg)} | {name} | {fba} | {e2e} | {diff} | {size} | '
                     f'{ratio_cell(measured(memory, "total_mib"))} | {ratio_cell(measured(flops, "gflops"))} |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--doc', default=osp.join(ROOT, 'docs', 'benchmarks.md'))
    args = parser.parse_args()
    text = table()
    print(text)
    doc = open(args.doc).read()
    start, end = '<!-- families:start -->', '<!-- families:end -->'
    if start in doc and end in doc:
        head, rest = doc.split(start, 1)
        doc = head + start + '\n' + text + '\n' + end + rest.split(end, 1)[1]
        with open(args.doc, 'w') as f:
            f.write(doc)
        print(f'written to {args.doc}')


if __name__ == '__main__':
    main()
