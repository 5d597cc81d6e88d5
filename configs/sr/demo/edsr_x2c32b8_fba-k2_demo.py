# FBA K=2 on the SR demo set: the baseline's editor wrapped as the architecture, cut in the middle of its body; module 1
# is trained by an SLM auxiliary net (trained copies of the next block and of the tail) on a random window of half the
# patch's height and width (crop=0.5).
_base_ = './edsr_x2c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
