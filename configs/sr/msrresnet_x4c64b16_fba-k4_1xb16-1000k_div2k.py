# MSRResNet x4 (c64b16) on DIV2K, FBA K=4: four modules of 4 blocks, modules 1-3 trained by SLM auxiliary nets (trained
# copies of the next block and of the x4 tail, on a random window of half the patch's side: EDSR's recipe). The global
# skip, the bilinearly upsampled LR input, reaches every auxiliary tail through the feature bank. Measured:
# docs/benchmarks.md, "Every family" (sr-msrresnet).
_base_ = 'mmagic::srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['trunk_net.4', 'trunk_net.8', 'trunk_net.12'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
