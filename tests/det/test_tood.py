"""TOOD from its stock config (ResNet-18, tiny head): its head reads the epoch from the message hub (mmengine's
RuntimeInfoHook puts it there in a Runner) to switch from its initial ATSS assigner to the task-aligned one after
``initial_epoch``; its auxiliary copies read the same epoch, so modules 1..K-1 switch with the real head. K=2 and K=4
train with isolated gradients in both phases, and the shipped config switches every module through tools/train.py."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.logging import MessageHub

from fba_mm.det import LocalLearningDetector
from fba_mm.det.demo_data import make_demo_det

from det_helpers import assert_stripped_checkpoint_predicts_like_the_learner, det_batch
from isolation import assert_gradients_isolated
from runner_helpers import CLASSES, ROOT, on_demo_data, train_with_tools


def tiny_tood() -> dict:
    model = get_config('mmdet::tood/tood_r50_fpn_1x_coco.py').model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.update(in_channels=[64, 128, 256, 512], out_channels=32)
    model.bbox_head.update(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=2)
    return model


@pytest.mark.parametrize('epoch', [0, 4])  # before and after train_cfg.initial_epoch (4)
@pytest.mark.parametrize('k', [2, 4])
def test_tood_trains_with_isolated_gradients_in_both_assigner_phases(k, epoch):
    MessageHub.get_current_instance().update_info('epoch', epoch)
    torch.manual_seed(0)
    split = {2: ['layer3'], 4: ['layer2.1', 'layer3', 'layer4']}[k]
    learner = LocalLearningDetector(tiny_tood(), split_points=split, aux_net=dict(type='SLMAuxNet',
                                                                                  weight_source='tied'))
    learner.init_weights()
    assert_gradients_isolated(learner, lambda: det_batch(size=64))
    heads = [learner.architecture.bbox_head] + [aux.detector.bbox_head for aux in learner.aux_nets]
    assert {h.epoch for h in heads} == {epoch}  # every module's head ran the phase of this epoch


def test_tood_stripped_checkpoint_predicts_like_the_learner():
    MessageHub.get_current_instance().update_info('epoch', 0)
    cfg = tiny_tood()
    cfg.test_cfg.score_thr = 0.0  # an untrained head's scores are low; compare its top boxes
    assert_stripped_checkpoint_predicts_like_the_learner(cfg, ['layer2.1', 'layer3', 'layer4'],
                                                         dict(type='SLMAuxNet', weight_source='tied'), size=64)


def test_the_tood_config_switches_every_module_through_tools_train(tmp_path):
    """configs/det/tood_r50_fpn_fba-k4_1x_coco.py at tiny size through tools/train.py for two epochs, the first before
    ``initial_epoch``: every module's head (the real one and the three auxiliary ones) trains each iteration with the
    runner's epoch (ATSS, then the task-aligned assigner). With mmdet's ``SetEpochInfoHook`` added and a detector that
    defines ``set_epoch`` (a test subclass of TOOD: no mmdet 3.3 detector does), the learner passes the epoch on to
    the real and the auxiliary heads."""
    data_root = make_demo_det(str(tmp_path / 'demo'), num_train=8, num_val=1, size=96)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/det/tood_r50_fpn_fba-k4_1x_coco.py'))
    arch = cfg.model.architecture
    arch.update(tiny_tood(), type='EpochSettableTOOD')
    arch.backbone.depth = 34  # the shipped split names layer2.2
    arch.bbox_head.num_classes = len(CLASSES)
    arch.train_cfg.initial_epoch = 1
    on_demo_data(cfg, data_root, max_epochs=2)
    cfg.custom_imports.imports.append('runner_probes')
    cfg.custom_hooks = [dict(type='SetEpochInfoHook'), dict(type='HeadEpochProbe')]
    cfg.dump(str(tmp_path / 'config.py'))
    rows, _ = train_with_tools(tmp_path / 'config.py', tmp_path / 'work')
    assert len(rows) == 4 and all('m4.loss' in r for r in rows)
    probes = [json.loads(line) for line in open(tmp_path / 'work' / 'head_epochs.jsonl')]
    assert [p['epoch'] for p in probes] == [0, 0, 1, 1]
    for probe in probes:
        assert probe['trained'] == [probe['epoch']] * 4, probe
        assert probe['set'] == [probe['epoch']] * 4, probe
