# Mask R-CNN Swin-T on COCO, trained by FBA with K=4 local modules. Swin's stages end in an output norm and a
# patch merging, which train with the stage's last block; a split point names a stage ('stages.2') or a block
# inside one ('stages.2.blocks.3'). The auxiliary nets run the main model's own blocks, neck and heads, detached
# (weight_source='tied'), at full resolution (the recipe of
# faster-rcnn_r50_fpn_fba-k4_1x_coco.py). docs/det.md has the measurements.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stages.0.blocks.1', 'stages.1', 'stages.2.blocks.3'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True,
                 train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
# one optimizer per module from the stock AdamW and its paramwise_cfg (matched against full parameter names);
# a clip_grad added here bounds each module's norm (m{k}.grad_norm), so the whole can reach sqrt(4) x max_norm
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
