# FBA K=4 on the SR demo set for the MSRResNet family: four modules of two residual blocks each, with the recipe of
# the full-size MSRResNet config (configs/sr/msrresnet_x4c64b16_fba-k4_1xb16-1000k_div2k.py): trained copies of the
# next block and of the tail on a random window of half the patch's side. Results: docs/benchmarks.md, "Every family"
# (sr-msrresnet).
_base_ = './msrresnet_x4c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['trunk_net.2', 'trunk_net.4', 'trunk_net.6'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
