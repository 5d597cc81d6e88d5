# FBA K=4 on the demo set for the DINO family: the Faster R-CNN demo's split of the ResNet-18 and the auxiliary recipe
# of the full-size DINO config (configs/det/dino-4scale_r50_fba-k4_8xb2-12e_coco.py); the copied blocks are not
# checkpointed (at 128 px there is little to save). Results: docs/benchmarks.md, "Every family" (det-dino).
_base_ = './dino-4scale_r18_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
