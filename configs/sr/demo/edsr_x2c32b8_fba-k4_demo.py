# FBA K=4 on the SR demo set: four modules of two residual blocks each.
# The auxiliary nets follow the recipe of the DIV2K x2 K=4 config (configs/sr/edsr_x2c64b16_fba-k4_1xb16-300k_div2k.py):
# the generator's own tail, detached (weight_source='tied': no copies, no optimizer state), and no extra body block
# (depth=0). docs/benchmarks.md has its accuracy over 3 seeds beside end-to-end's and the original SLM's.
_base_ = './edsr_x2c32b8_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.2', 'body.4', 'body.6'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
