# EDSR x4 (c64b16) on DIV2K, trained with FBA K=4: four modules of 4 residual blocks, each but the last trained by an
# SLM auxiliary net (one copied block + a copy of the tail). Data, schedule and Set5/Set14 evaluation are the stock
# ones.
_base_ = 'mmagic::edsr/edsr_x4c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4', 'body.8', 'body.12'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='BasicVisualizationHook', interval=1), dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
