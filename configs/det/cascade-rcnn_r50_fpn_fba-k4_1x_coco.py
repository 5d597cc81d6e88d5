# Cascade R-CNN R50-FPN on COCO, FBA K=4 with the detection default recipe of faster-rcnn_r50_fpn_fba-k4_1x_coco.py:
# auxiliary nets tied to the model's own later blocks, neck, RPN and all three cascade box heads, at full resolution.
# The sampler override is a dict, so it applies to every cascade stage (train_cfg.rcnn is a list, one per stage).
# Not measured itself: the recipe's figures are in docs/det.md, "The default K=4 recipe".
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True,
                 train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
