# RetinaNet R50-FPN on COCO, trained by FBA with K=4 local modules: the recipe of faster-rcnn_r50_fpn_fba-k4_1x_coco.py
# (chosen on the measured accuracy-memory front, docs/benchmarks.md) on the stock RetinaNet: the auxiliary nets are tied
# to the main model's own later blocks, neck and head (weight_source='tied', no copies, no optimizer state), one block
# per later stage at full resolution, the copied blocks checkpointed; layer2 is cut in two and layer3's first block
# joins module 2. docs/det.md has the measurements.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))
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
