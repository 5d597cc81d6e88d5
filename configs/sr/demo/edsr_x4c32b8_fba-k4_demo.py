# FBA K=4 on the SR demo set at x4: four modules of two residual blocks each. The recipe of the DIV2K x3/x4 K=4
# configs: trained copies of one body block and of the tail (the original SLM), the one trained to 3 seeds at x4
# (docs/benchmarks.md, "The front"); the x2 default (the tied tail, depth=0) has not been trained at x4 yet.
_base_ = './edsr_x4c32b8_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.2', 'body.4', 'body.6'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
