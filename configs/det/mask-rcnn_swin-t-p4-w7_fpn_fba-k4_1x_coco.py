# Mask R-CNN Swin-T on COCO, FBA K=4 with the detection default recipe of faster-rcnn_r50_fpn_fba-k4_1x_coco.py
# (auxiliary nets tied to the model's own later blocks, neck and heads, at full resolution). Swin's output norms and
# patch mergings train with their stage's last block; a split point names a stage ('stages.2') or a block in one.
# Memory measured with the earlier half-resolution recipe: docs/det.md, "Total memory: Mask R-CNN Swin-T".
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stages.0.blocks.1', 'stages.1', 'stages.2.blocks.3'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True,
                 train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
