# FBA K=4 on the demo set: the baseline's detector wrapped as the architecture, with the default recipe of the K=4
# COCO configs (faster-rcnn_r50_fpn_fba-k4_1x_coco.py): tied auxiliary nets, one block per later stage, full
# resolution, neck and heads without P2. Only the heads and RoI counts stay CPU-sized, as in the baseline.
_base_ = './faster-rcnn_r18_fpn_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, first_level=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
