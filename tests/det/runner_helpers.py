"""Training a shipped config through tools/train.py on the demo set, as a user does, for the Runner tests."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(96, 96), keep_ratio=True), dict(type='PackDetInputs')]
CLASSES = ('circle', 'square', 'triangle', 'star', 'ring', 'cross')


def on_demo_data(cfg, data_root: str, max_epochs: int, dataset: dict = None) -> None:
    """``cfg`` trains ``max_epochs`` on the demo set (batch 4, no validation, constant lr, a log line and a checkpoint
    every iteration / epoch); ``dataset``: instead of the plain CocoDataset with :data:`PIPELINE`."""
    cfg.train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                                dataset=dataset or dict(coco_dataset(data_root), pipeline=PIPELINE),
                                sampler=dict(type='DefaultSampler', shuffle=True))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=100)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=1)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1)


def coco_dataset(data_root: str) -> dict:
    return dict(type='CocoDataset', data_root=data_root + '/', ann_file='train.json', data_prefix=dict(img='train/'),
                metainfo=dict(classes=CLASSES), filter_cfg=dict(filter_empty_gt=True))


def train_with_tools(config, work):
    """``python tools/train.py config --work-dir work`` (tests/det on the PYTHONPATH, for the probes); returns the
    logged scalars of the training iterations and the text log."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests', 'det')]), OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]
    rows = [json.loads(line) for path in glob.glob(osp.join(str(work), '*', 'vis_data', 'scalars.json'))
            for line in open(path)]
    log = ''.join(open(p).read() for p in glob.glob(osp.join(str(work), '*', '*.log')))
    return [r for r in rows if 'loss' in r and 'lr' in r], log
