# MSRResNet x4 (c64b16) on DIV2K, trained with FBA K=4. The global skip is the bilinearly upsampled LR input,
# which the feature bank hands to every auxiliary net's copy of the x4 tail.
_base_ = 'mmagic::srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['trunk_net.4', 'trunk_net.8', 'trunk_net.12'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='BasicVisualizationHook', interval=1), dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
