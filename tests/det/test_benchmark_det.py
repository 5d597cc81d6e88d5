"""tools/analysis/benchmark_memory.py on detectors with list-valued heads (Cascade R-CNN), in-process, tiny."""
import os.path as osp
import sys

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_memory  # noqa: E402

from det_helpers import tiny_detector  # noqa: E402


def test_cascade_rcnn_benchmark_runs_and_fba_saves_activations():
    # the shipped config (tied SLM at half resolution, a train_cfg.rcnn override for the three cascade stages) on a
    # tiny Cascade R-CNN (ResNet-18, 3 classes); K=2 to keep it short
    cfg = Config.fromfile(osp.join(ROOT, 'configs/det/cascade-rcnn_r50_fpn_fba-k4_1x_coco.py'))
    cfg.model.architecture = tiny_detector('cascade_rcnn')
    cfg.model.split_points = ['layer3']
    results = benchmark_memory.benchmark(cfg, 1, (128, 128), rows=['e2e', 'fba'], warmup=1, iters=0)
    assert set(results) == {'e2e', 'fba'}
    assert all(r['total_mib'] > 0 and r['activation_mib'] > 0 for r in results.values())
    # measured on CPU (exact, deterministic byte counts): e2e 17.2 MiB of saved activations, FBA 16.2 (the three
    # cascade heads, trained with the last module, dominate at 128 px)
    assert results['fba']['activation_mib'] < results['e2e']['activation_mib']
    assert set(results['fba']['module_activation_mib']) == {'m1', 'm2'}
    table = benchmark_memory.report(results, cfg, 1, (128, 128))
    assert '| e2e |' in table and '| fba |' in table
