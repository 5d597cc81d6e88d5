# RCAN x2 trained with FBA K=4, cut between residual groups (3 + 3 + 2 + 2 groups).
_base_ = './rcan_x2c64g10b20_1xb16-1000k_div2k.py'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.3', 'body.6', 'body.8'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='BasicVisualizationHook', interval=1), dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
