# FBA K=4 on the SR demo set for the SwinIR family: one residual Swin block per module, with the recipe of the
# full-size SwinIR configs (configs/sr/swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py). Results:
# docs/benchmarks.md, "Every family" (sr-swinir).
_base_ = './swinir_x2s32w8d2e32_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['layers.1', 'layers.2', 'layers.3'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
