# FBA K=2 on the SR demo set at x4: the baseline's editor wrapped as the architecture, cut in the middle of its body;
# module 1 is trained by an SLM auxiliary net (trained copies of the next block and of the x4 tail) on a random window
# of 0.45 of the patch's height and width (crop=0.45).
_base_ = './edsr_x4c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.45))
