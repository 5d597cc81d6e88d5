# TOOD R50-FPN on COCO, trained by FBA with K=4 local modules: the recipe of faster-rcnn_r50_fpn_fba-k4_1x_coco.py
# on the stock TOOD (auxiliary nets tied to the model's own later blocks, neck and head, one block per later stage at
# full resolution, the copied blocks checkpointed). TOOD's head reads the epoch from the message hub to leave its
# initial ATSS assigner after train_cfg.initial_epoch; the auxiliary heads read the same epoch, so every module switches
# with the real head (tests/det/test_tood.py trains it through tools/train.py). Accuracy not yet trained.
_base_ = 'mmdet::tood/tood_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
