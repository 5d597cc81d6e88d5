# YOLOX-s trained with FBA K=4: CSPDarknet cut into four modules, modules 1-3 trained by SLM auxiliary nets tied to
# the model's own later stages, neck and head (its assigner and losses), at full resolution: the detection default
# recipe (docs/benchmarks.md). Module 1 is the stem and stage 1's stride-2 conv, module 2 the rest of stage 1 (its
# CSP layer), module 3 stage 2, module 4 stages 3-4 with the neck and head: the full-resolution layers hold most
# of the activations. At batch 2, 640x640 this split beat the stage-level one and activation checkpointing in
# total memory (docs/det.md). The stock custom_hooks (YOLOXModeSwitchHook, SyncNormHook,
# EMAHook) run unlisted: local learning's hooks go
# into default_hooks.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stage1.1.main_conv', 'stage2', 'stage3'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
