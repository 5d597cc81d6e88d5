# EDSR x2 (c64b16) on DIV2K, FBA K=4: four modules of 4 residual blocks, modules 1-3 trained by SLM auxiliary nets
# (trained copies of the next block and of the tail) on a random window of half the patch's height and width
# (crop=0.5), the recipe of the x2 demo configs. Data, schedule and Set5/Set14 evaluation are the stock ones.
# Chosen and measured in docs/benchmarks.md, "The front" (Super-resolution, x2).
_base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4', 'body.8', 'body.12'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
