# EDSR x3 (c64b16) on DIV2K, FBA K=4: four modules of 4 residual blocks, modules 1-3 trained by SLM auxiliary nets
# (trained copies of the next block and of the tail) on a random window of 0.45 of the patch's height and width
# (crop=0.45): the x4 recipe, as x3 has no demo of its own. Data, schedule and Set5/Set14 evaluation are the stock ones.
# The x4 figures and the x3 FLOPs: docs/benchmarks.md, "The front" (Super-resolution, x4).
_base_ = 'mmagic::edsr/edsr_x3c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4', 'body.8', 'body.12'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.45))
