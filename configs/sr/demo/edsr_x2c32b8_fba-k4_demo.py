# FBA K=4 on the SR demo set: four modules of two residual blocks each.
# The auxiliary nets follow the recipe of the DIV2K EDSR K=4 configs (configs/sr/edsr_x{2,3,4}c64b16_fba-k4_*.py):
# trained copies of one body block and of the tail (the original SLM). The tied tail without a copied block (depth=0,
# 0.48x end-to-end's total memory at real size against 0.55x) trailed end-to-end by 0.49 dB on this set (seed 0), so
# it is not the default; docs/benchmarks.md, "The front".
_base_ = './edsr_x2c32b8_demo.py'

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
