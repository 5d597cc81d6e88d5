"""Tied auxiliary nets after mmengine swapped their layers: a detector whose backbone uses SyncBN, trained through a
real Runner without DDP (``tools/train.py``). The Runner reverts every SyncBN to a plain BN when it wraps the model
(``revert_sync_batchnorm``), after the auxiliary nets were built; the tied aux nets must bind the main weights into
the layers that actually run, not into the ones that were replaced (which left the new layers without weights or
statistics, silently). ``AuxBNProbe`` (tests/core/ddp_probes.py) records every run of an auxiliary BN layer; the
2-process case, with ``sync_bn`` converting BN to SyncBN, is tests/core/test_ddp_adapters.py."""
import json
import os
import os.path as osp
import subprocess
import sys

from fba_mm.det.demo_data import make_demo_det

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'det', 'demo', 'faster-rcnn_r18_fpn_fba-k4_demo.py')
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests', 'core')]), OMP_NUM_THREADS='1')


def test_sync_bn_detector_without_ddp_binds_the_main_weights_into_the_reverted_layers(tmp_path):
    data_root = make_demo_det(str(tmp_path / 'data'), num_train=4, num_val=1, size=96)
    config = tmp_path / 'config.py'
    config.write_text(
        f'_base_ = {CONFIG!r}\n'
        "custom_imports = dict(imports=['fba_mm.det', 'ddp_probes'], allow_failed_imports=False)\n"
        f'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
        f'dataset=dict(data_root={data_root + "/"!r}))\n'
        'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n'
        "model = dict(architecture=dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True))))\n"
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        "custom_hooks = [dict(type='AuxBNProbe')]\n")
    result = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(tmp_path / 'work')],
                            cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-5000:]
    records = json.loads((tmp_path / 'work' / 'bn_probe_rank0.json').read_text())
    assert records, 'no BN layer of the auxiliary nets ran'
    assert {r['main'] for r in records} == {r['cls'] for r in records} == {'_BatchNormXd'}  # reverted, both
    assert all(r['training'] for r in records)  # the demo trains its BN (norm_eval=False): private statistics
    bad = [r for r in records if not (r['weight_shared'] and r['bias_shared'] and r['stats_equal'])]
    assert not bad, f'{len(bad)} of {len(records)} runs of auxiliary BN layers lacked the main weights, e.g. {bad[0]}'
