# FBA K=4 on the SR demo set at x4: four modules of two residual blocks each, modules 1-3 trained by SLM auxiliary nets
# (trained copies of the next block and of the x4 tail) on a random window of 0.45 of the patch's height and width
# (crop=0.45), the recipe of the DIV2K EDSR x4 configs. The x4 measurements: docs/benchmarks.md, "The front" (sr-x4).
_base_ = './edsr_x4c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.2', 'body.4', 'body.6'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.45))
