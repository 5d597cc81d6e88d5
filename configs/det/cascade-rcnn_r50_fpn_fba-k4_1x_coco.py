# Cascade R-CNN R50-FPN on COCO, trained by FBA with K=4 local modules: the Faster R-CNN recipe
# (faster-rcnn_r50_fpn_fba-k4_1x_coco.py) on the stock Cascade R-CNN; the auxiliary nets run the main model's own
# blocks, neck, RPN and all three cascade box heads, detached (weight_source='tied'), at full resolution (the recipe of
# faster-rcnn_r50_fpn_fba-k4_1x_coco.py). The
# sampler override is a dict, so it applies to every cascade stage (train_cfg.rcnn is a list, one per stage).
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True,
                 train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
# one optimizer per module, from the stock settings; a clip_grad added here bounds each module's norm (logged as
# m{k}.grad_norm), so the whole gradient's norm can reach sqrt(4) x max_norm
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
