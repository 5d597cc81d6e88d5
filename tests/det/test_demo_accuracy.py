"""The detection accuracy claim of docs/benchmarks.md, as a test: on the demo set (v3: 6 classes, scale variation,
occlusion, clutter), at the demo's own 12-epoch schedule and seed 0, end-to-end learns the
task and FBA K=4 with the default recipe (the demo FBA config: tied auxiliary nets at full resolution, depth 1, the
recipe of the COCO K=4 configs) keeps at least 0.95 of its bbox mAP. Trained exactly as ``tools/analysis/compare.py
det --section det-12e`` trains its runs (the same configs, seeds and tools/train.py, at one thread as they were
trained: at another thread count float sums split differently and the result is another draw from the seed spread).
About 60 minutes on our machines: marked slow (`make test-all`).

The margins rest on the committed runs (docs/bench/compare/det-12e): end-to-end 0.454 ± 0.012 over 3 seeds, 0.453 at
seed 0; FBA K=4 with the default recipe 0.441 at seed 0 (0.974 of end-to-end's), 0.011 mAP above the 0.95 line, so a
change that costs FBA a little accuracy fails.
"""
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import compare  # noqa: E402

E2E_FLOOR = 0.40   # measured: 0.453 at seed 0 (0.443-0.466 over 3 seeds); below 0.40 the baseline did not learn
FBA_RATIO = 0.95   # the claim: FBA K=4 keeps 0.95 of end-to-end's mAP (measured, seed 0: 0.441 / 0.453 = 0.974)


@pytest.mark.slow
def test_fba_k4_keeps_most_of_end_to_end_map(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the demo set lives in data/demo_det, as for compare.py
    monkeypatch.setenv('OMP_NUM_THREADS', '1')  # as the committed runs trained: another thread count is another draw
    e2e, fba = (compare.train_seed('det', run, 0, str(tmp_path / run))['metrics']['coco/bbox_mAP']
                for run in ('e2e', 'slm-k4'))
    assert e2e > E2E_FLOOR, e2e
    assert fba >= FBA_RATIO * e2e, (fba, e2e)


@pytest.mark.slow
def test_yolox_fba_k4_keeps_most_of_end_to_end_map(tmp_path, monkeypatch):
    # docs/benchmarks.md, "Every family": the YOLOX-tiny demo, seed 0: FBA K=4 with the YOLOX configs' recipe 0.193 bbox
    # mAP against end-to-end's 0.202 (0.955: 0.001 mAP above the floor; deterministic at one thread, as trained).
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    e2e, fba = (compare.train_seed('det-yolox', run, 0, str(tmp_path / run))['metrics']['coco/bbox_mAP']
                for run in ('e2e', 'slm-k4'))
    assert e2e > 0.15, e2e  # learned (0.202 measured)
    assert fba >= FBA_RATIO * e2e, (fba, e2e)
