# MSRResNet x4 (c64b16) on DIV2K, trained with FBA K=4. The global skip is the bilinearly upsampled LR input,
# which the feature bank hands to every auxiliary net's copy of the x4 tail.
_base_ = 'mmagic::srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['trunk_net.4', 'trunk_net.8', 'trunk_net.12'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
