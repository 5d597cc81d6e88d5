"""TOOD from its stock config (ResNet-18, tiny head): its head reads the epoch from the message hub (mmengine's
RuntimeInfoHook puts it there in a Runner) to switch from its initial ATSS assigner to the task-aligned one after
``initial_epoch``; its auxiliary copies read the same epoch, so modules 1..K-1 switch with the real head. K=2 and K=4
train with isolated gradients in both phases."""
import pytest
import torch
from mmengine.hub import get_config
from mmengine.logging import MessageHub

from fba_mm.det import LocalLearningDetector

from det_helpers import det_batch
from isolation import assert_gradients_isolated


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
