# FBA K=4 on the demo set for the TOOD family: the Faster R-CNN demo's split of the ResNet-18 and the auxiliary recipe
# of the full-size TOOD config (configs/det/tood_r50_fpn_fba-k4_1x_coco.py); the copied blocks are not checkpointed
# (at 128 px there is little to save). Results: docs/benchmarks.md, "Every family" (det-tood).
_base_ = './tood_r18_fpn_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
