# YOLOX-s trained with FBA K=4: CSPDarknet cut at its stages (the CSP layout also cuts between a CSP layer's blocks,
# e.g. 'stage2.1.blocks.1'), modules 1-3 trained by SLM auxiliary nets tied to the model's own later stages, neck
# and YOLOX head (its assigner and losses), at full resolution: the detection default recipe (docs/benchmarks.md).
# The split is by stage and not yet tuned by memory at YOLOX's input. The stock custom_hooks (YOLOXModeSwitchHook,
# SyncNormHook, EMAHook) stay: the hooks of local learning go into default_hooks.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stage2', 'stage3', 'stage4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
