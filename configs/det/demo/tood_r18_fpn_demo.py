# End-to-end baseline on the synthetic demo set for the TOOD family: mmdet's TOOD (task-aligned head, ATSS assigner
# for the first 4 epochs, then the task-aligned one) on the Faster R-CNN demo's ResNet-18 from scratch and 64-channel
# FPN at 128 px, trained as the Faster R-CNN demo trains (data, 12-epoch schedule, AdamW). Three levels (strides
# 8-32, anchors 32-128 px: half the stock size, as in the Faster R-CNN demo) for objects of 16-77 px; the stock P6 and
# P7 would hold no positive sample and never train. Results: docs/benchmarks.md, "Every family" (det-tood).
_base_ = './faster-rcnn_r18_fpn_demo.py'

model = dict(
    _delete_=True,
    type='TOOD',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(type='FPN', in_channels=[64, 128, 256, 512], out_channels=64, start_level=1, num_outs=3),
    bbox_head=dict(
        type='TOODHead', num_classes=6, in_channels=64, stacked_convs=6, feat_channels=64, anchor_type='anchor_free',
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=1,
                              strides=[8, 16, 32]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2]),
        initial_loss_cls=dict(type='FocalLoss', use_sigmoid=True, activated=True, gamma=2.0, alpha=0.25,
                              loss_weight=1.0),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, activated=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(initial_epoch=4, initial_assigner=dict(type='ATSSAssigner', topk=9),
                   assigner=dict(type='TaskAlignedAssigner', topk=13), alpha=1, beta=6, allowed_border=-1,
                   pos_weight=-1, debug=False),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
                  max_per_img=100))
