# Faster R-CNN R50-FPN on COCO, trained by FBA with K=4 local modules. The recipe is the one chosen on the measured
# accuracy-memory front (docs/benchmarks.md, "The front"): the lowest total memory whose accuracy stays with
# end-to-end's on the demo set, where the demo FBA config trains the same recipe.
# - the auxiliary nets are tied to the main model's own later blocks, neck and heads (weight_source='tied'): trained
#   copies would add more parameters + optimizer state than the activations FBA saves;
# - one block per later stage (depth=1), at full resolution (scale=1.0): at half resolution the tied heads gave each
#   module a gradient far from end-to-end's (cosine 0.2-0.7 against 0.87-0.93) and lost half the demo mAP;
# - the copied blocks recompute their activations in the backward (with_cp=True: the same function, tied BN
#   statistics are private), and the aux heads sample 128 RoIs per image;
# - the split balances the modules' peaks: layer2 is cut in two, and layer3's first block joins module 2.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
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
