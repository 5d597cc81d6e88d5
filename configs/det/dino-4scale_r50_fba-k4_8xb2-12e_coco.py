# DINO-4scale R50 trained with FBA K=4: the ResNet-50 cut as in the Faster R-CNN K=4 config, modules 1-3 trained by
# SLM auxiliary nets tied to the model's own later blocks, neck, first encoder layer (SLM reads the encoder as the last
# stage: one block of each later stage), decoder and head with its denoising queries, at full resolution: the
# detection default recipe (docs/benchmarks.md). Module 4 trains layer4, the neck, the six encoder layers and
# everything after them; dino-4scale_r50_fba-k6_8xb2-12e_coco.py also cuts the encoder. Measured in docs/det.md.
# Accuracy not yet trained.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
