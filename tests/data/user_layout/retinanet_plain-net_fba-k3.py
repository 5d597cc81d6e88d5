# a user's config: a stock detector on their own backbone, cut by their own layout (both from plain_net.py)
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det', 'plain_net'], allow_failed_imports=False)
model = dict(
    _delete_=True, type='LocalLearningDetector', split_points=['stages.1', 'stages.2.1'],
    architecture=dict(
        type='RetinaNet', data_preprocessor=_base_.model.data_preprocessor,
        backbone=dict(type='PlainNet'),
        neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=32, start_level=1,
                  add_extra_convs='on_input', num_outs=5),
        bbox_head=dict(type='RetinaHead', num_classes=3, in_channels=32, stacked_convs=2, feat_channels=32,
                       anchor_generator=_base_.model.bbox_head.anchor_generator,
                       bbox_coder=_base_.model.bbox_head.bbox_coder, loss_cls=_base_.model.bbox_head.loss_cls,
                       loss_bbox=_base_.model.bbox_head.loss_bbox),
        train_cfg=_base_.model.train_cfg, test_cfg=_base_.model.test_cfg),
    aux_net=dict(type='SLMAuxNet'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
