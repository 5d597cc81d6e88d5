# FBA K=2 on the demo set: the baseline's detector wrapped as the architecture; three lines more for the
# per-module optimizers, the hook and distributed training.
_base_ = './faster-rcnn_r18_fpn_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer3'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
