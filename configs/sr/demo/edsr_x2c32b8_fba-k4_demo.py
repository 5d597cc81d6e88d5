# FBA K=4 on the SR demo set: four modules of two residual blocks each, modules 1-3 trained by SLM auxiliary nets
# (trained copies of the next block and of the tail) on a random window of half the patch's height and width
# (crop=0.5), the recipe of the DIV2K EDSR x2 configs. Chosen and measured in docs/benchmarks.md, "The front" (sr-x2).
_base_ = './edsr_x2c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.2', 'body.4', 'body.6'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
