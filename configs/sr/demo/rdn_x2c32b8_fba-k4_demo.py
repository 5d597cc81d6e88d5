# FBA K=4 on the SR demo set for the RDN family: four modules of two dense blocks each, with the recipe of the
# full-size RDN config (configs/sr/rdn_x2c64b16_fba-k4_1xb16-1000k_div2k.py): trained copies of the next block and of
# the tail on a random window of half the patch's side. Results: docs/benchmarks.md, "Every family" (sr-rdn).
_base_ = './rdn_x2c32b8_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['rdbs.2', 'rdbs.4', 'rdbs.6'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
