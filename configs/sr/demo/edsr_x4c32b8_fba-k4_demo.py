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
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
