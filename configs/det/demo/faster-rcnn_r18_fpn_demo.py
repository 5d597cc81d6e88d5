# End-to-end baseline on the synthetic demo set (tools/misc/make_demo_det.py: 6 classes, scale variation, occlusion,
# clutter): the stock Faster R-CNN with a ResNet-18 trained from scratch at 128 px, sized for 2 CPU cores. The FBA
# configs beside it change only the model. Its results: docs/benchmarks.md, "Detection" (det-12e).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

data_root = 'data/demo_det/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'star', 'ring', 'cross'))
img_scale = (128, 128)

# a light detector for 2 CPU cores: ResNet-18 from scratch, 64-channel FPN and heads, fewer proposals and RoIs
# (at most 6 objects per 128 px image), and a fixed RoIAlign sampling grid: mmcv's CPU RoIAlign is the largest
# cost of an iteration, and its adaptive grid (sampling_ratio=0) samples large RoIs densely. Anchors half the
# stock size (16-256 px instead of 32-512), as the objects are 16-77 px.
# From scratch as mmdet's scratch configs do: nothing frozen (frozen_stages=-1: the stem and layer1 train, and
# with FBA the stem joins module 1), and BN layers that learn and normalise with batch statistics in training
# (norm_eval=False). The stock values (1, True) are for ImageNet weights; on random ones they would keep the
# stem and layer1 random and every BN at mean 0, var 1.
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, roi_layer=dict(sampling_ratio=2)),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=6)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=150), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=150)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='train.json', data_prefix=dict(img='train/'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='val.json', data_prefix=dict(img='val/'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val.json')
test_evaluator = val_evaluator

# AdamW, as mmdet's transformer-backbone configs use: from scratch on this set it learns faster than the stock SGD
# (lr 0.02) in the same iterations (docs/benchmarks.md, "Detection").
# 12 epochs (1200 iterations), lr x0.1 for the last two, validated every 2 epochs: the schedule of the accuracy
# comparison (docs/benchmarks.md, det-12e), whose seed spread can tell FBA from end-to-end.
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     clip_grad=dict(max_norm=10, norm_type=2))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[10], gamma=0.1)
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=4))
auto_scale_lr = dict(enable=False, base_batch_size=4)
randomness = dict(seed=0)
