# EDSR x4 (c64b16) on DIV2K, trained with FBA K=2: two modules of 8 residual blocks, each but the last trained by an SLM
# auxiliary net (one copied block + a copy of the tail). Data, schedule and Set5/Set14 evaluation are the stock ones.
_base_ = 'mmagic::edsr/edsr_x4c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.8'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
