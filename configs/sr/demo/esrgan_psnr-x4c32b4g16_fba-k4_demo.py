# FBA K=4 on the SR demo set for the RRDBNet family: one RRDB per module, with the recipe of the full-size config
# (configs/sr/esrgan_psnr-x4c64b23g32_fba-k4_1xb16-1000k_div2k.py). Results: docs/benchmarks.md, "Every family"
# (sr-rrdb).
_base_ = './esrgan_psnr-x4c32b4g16_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.1', 'body.2', 'body.3'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
