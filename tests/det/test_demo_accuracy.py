"""The detection accuracy claim of docs/benchmarks.md, as a test: on the demo set (v3: 6 classes, scale variation,
occlusion, clutter), at the demo's full schedule and seed 0, end-to-end learns the task and FBA K=4 keeps most of
its bbox mAP. Trained exactly as ``tools/analysis/compare.py det`` trains its runs (the same configs, seeds and
tools/train.py). About 40 minutes on 2 cores: marked slow (`make test-all`).

The end-to-end floor sits below its lowest measured seed (0.174; 0.207 ± 0.034 over 3 seeds). The FBA ratio is the
issue's target, measured at one seed only (1.10 at seed 0), so its margin against the spread is not known yet.
"""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import compare  # noqa: E402

E2E_FLOOR = 0.13   # measured (seed 0): 0.174; below 0.13 the baseline did not learn the task
FBA_RATIO = 0.95   # the claim: FBA K=4 keeps 0.95 of end-to-end's mAP (measured, seed 0: 0.192 / 0.174 = 1.10)


@pytest.mark.slow
def test_fba_k4_keeps_most_of_end_to_end_map(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the demo set lives in data/demo_det, as for compare.py
    e2e, fba = (compare.train_seed('det', run, 0, str(tmp_path / run))['metrics']['coco/bbox_mAP']
                for run in ('e2e', 'slm-k4'))
    assert e2e > E2E_FLOOR, e2e
    assert fba >= FBA_RATIO * e2e, (fba, e2e)
