# EDSR x2 (c64b16) on DIV2K, trained with FBA K=4: four modules of 4 residual blocks, each but the last trained by an
# SLM auxiliary net. Data, schedule and Set5/Set14 evaluation are the stock ones. Defaults chosen by total memory and
# time (docs/sr.md): the auxiliary nets run the generator's own tail, detached (weight_source='tied', no copies), and no
# extra body block (depth=0): 0.48 of end-to-end's total memory at 1.21x the time, where one block (depth=1) costs
# 0.52 at 1.66x.
_base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4', 'body.8', 'body.12'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='BasicVisualizationHook', interval=1), dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
