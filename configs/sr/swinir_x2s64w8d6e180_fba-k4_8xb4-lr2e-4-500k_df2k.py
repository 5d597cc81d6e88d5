# SwinIR x2 (classical SR: 6 RSTBs of depth 6, embed_dim 180, window 8, 'pixelshuffle' upsampler) on DF2K, trained
# with FBA K=4 as swinir_psnr-x2s64w8d6e180_fba-k4_8xb4-lr1e-4-600k_df2k-ost.py (RSTBs cut 2 + 2 + 1 + 1, tied tail,
# depth=0). Unlike that one, the stock config here is a training config: data, schedule and Set5 evaluation are its.
_base_ = 'mmagic::swinir/swinir_x2s64w8d6e180_8xb4-lr2e-4-500k_df2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['layers.2', 'layers.4', 'layers.5'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
