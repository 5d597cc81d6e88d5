"""tools/analysis/family_table.py: one row per shipped K=4 config, each with its own recipe, and figures read from
the committed results of today's configs only."""
import glob
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import family_table  # noqa: E402


def test_one_row_per_shipped_k4_config_with_its_committed_accuracy():
    text = family_table.table()
    rows = text.splitlines()[2:]
    shipped = {osp.basename(p) for p in glob.glob(osp.join(ROOT, 'configs', '*', '*_fba-k4_*.py'))}
    assert sorted(row.split('`')[1] for row in rows) == sorted(shipped)
    faster = next(row for row in rows if 'faster-rcnn_r50_fpn_fba-k4' in row).split(' | ')
    values = family_table.compare.committed_values('det', 'det-12e', 'slm-k4', range(10))
    assert faster[3].endswith(f'({len(values)})') and faster[3].startswith(f'{sum(values) / len(values):.3f}')
    # a result trained from another config than today's does not count
    stale = family_table.compare.committed_values('det', 'det-12e', 'slm-k4', range(10),
                                                   {'model.aux_net.depth': 2})
    assert stale == []
