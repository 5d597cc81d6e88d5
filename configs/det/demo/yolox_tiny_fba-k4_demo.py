# FBA K=4 on the demo set for the YOLOX family, with the split and the auxiliary recipe of the full-size YOLOX config
# (configs/det/yolox_s_fba-k4_8xb8-300e_coco.py). Results: docs/benchmarks.md, "Every family" (det-yolox).
_base_ = './yolox_tiny_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stage1.1.main_conv', 'stage2', 'stage3'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
