# Faster R-CNN R50-FPN on COCO, FBA K=4 with the detection default recipe: auxiliary nets tied to the model's own later
# blocks, neck and heads (no copies, no optimizer state), one block per later stage, at full resolution, the copied
# blocks checkpointed, 128 RoIs per auxiliary RoI head; layer2 is cut in two and layer3's first block joins module 2.
# Chosen in docs/benchmarks.md, "The front"; measured in docs/det.md, "The default K=4 recipe".
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True,
                 train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
