"""The detection tools end to end on the generated demo set: train with FBA through tools/train.py, evaluate with
mmdet's CocoMetric (pycocotools), and check that the stock config with the stripped checkpoint predicts the same."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from fba_mm.det.demo_data import make_demo_det

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'det', 'demo')
ENV = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='2')


def config_on(tmp_path, base, data_root, **extra):
    """``base`` pointed at ``data_root``, with extra top-level overrides."""
    lines = [f'_base_ = {base!r}', f'data_root = {data_root + "/"!r}']
    for split in ('train', 'val', 'test'):
        lines.append(f'{split}_dataloader = dict(dataset=dict(data_root=data_root), num_workers=0, '
                     'persistent_workers=False)')
    lines += ["val_evaluator = dict(ann_file=data_root + 'val.json')", 'test_evaluator = val_evaluator']
    lines += [f'{k} = {v}' for k, v in extra.items()]
    path = tmp_path / osp.basename(base)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def run(*args):
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return make_demo_det(str(tmp_path_factory.mktemp('demo_det')), num_train=16, num_val=8, size=128)


def test_train_evaluate_and_convert(demo_root, tmp_path):
    # a short run: 2 epochs of 4 iterations, CocoMetric at the end; untrained boxes score low, so keep them all
    score = "dict(architecture=dict(test_cfg=dict(rcnn=dict(score_thr=0.0))))"
    fba = config_on(tmp_path, osp.join(DEMO, 'faster-rcnn_r18_fpn_fba-k2_demo.py'), demo_root,
                    train_cfg='dict(max_epochs=2, val_interval=2)', model=score,
                    default_hooks='dict(checkpoint=dict(interval=2))')
    out = run('tools/train.py', fba, '--work-dir', str(tmp_path / 'work'))
    assert 'coco/bbox_mAP:' in out  # CocoMetric ran on real predictions (it logs nothing but {} without boxes)
    ckpt = tmp_path / 'work' / 'epoch_2.pth'
    assert osp.exists(tmp_path / 'work' / 'epoch_2_stock.pth')
    assert osp.exists(tmp_path / 'work' / 'module_losses.png')

    stock = config_on(tmp_path, osp.join(DEMO, 'faster-rcnn_r18_fpn_demo.py'), demo_root,
                      model='dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))')
    converted = tmp_path / 'converted.pth'
    run('tools/model_converters/strip_aux.py', str(ckpt), str(converted))
    run('tools/test.py', fba, str(ckpt), '--work-dir', str(tmp_path / 't1'), '--out', str(tmp_path / 'fba.pkl'))
    run('tools/test.py', stock, str(converted), '--work-dir', str(tmp_path / 't2'),
        '--out', str(tmp_path / 'stock.pkl'))
    ours, theirs = (pickle.load(open(tmp_path / f, 'rb')) for f in ('fba.pkl', 'stock.pkl'))
    assert len(ours) == len(theirs) == 8
    assert sum(len(r['pred_instances']['bboxes']) for r in ours) > 0
    for a, b in zip(ours, theirs):
        assert torch.equal(a['pred_instances']['bboxes'], b['pred_instances']['bboxes'])
        assert torch.equal(a['pred_instances']['scores'], b['pred_instances']['scores'])
