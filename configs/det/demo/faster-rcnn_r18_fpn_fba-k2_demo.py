# FBA K=2 on the demo set: the baseline's detector wrapped as the architecture and cut at layer3; module 1 is trained
# by an SLM auxiliary net with trained copies of the later stages' first blocks, the neck and heads, at full resolution.
_base_ = './faster-rcnn_r18_fpn_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer3'],
    aux_net=dict(type='SLMAuxNet', depth=1))
