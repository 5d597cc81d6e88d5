# FBA K=4 on the demo set: the baseline's detector wrapped as the architecture; three lines more for the
# per-module optimizers, the hook and distributed training.
# The auxiliary nets follow the default recipe of the K=4 COCO configs (faster-rcnn_r50_fpn_fba-k4_1x_coco.py and
# the others, chosen on the measured accuracy-memory front, docs/benchmarks.md): tied to the main model's own later
# blocks, neck and heads (no copies, no optimizer state), one block per later stage, at full resolution. Only the
# heads and RoI counts stay CPU-sized, as in the baseline (the COCO configs also checkpoint the copied blocks,
# with_cp=True, which computes the same function; at 128 px it would save nothing worth the recomputation).
_base_ = './faster-rcnn_r18_fpn_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
