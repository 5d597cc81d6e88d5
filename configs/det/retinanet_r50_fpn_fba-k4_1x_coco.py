# RetinaNet R50-FPN on COCO, trained by FBA with K=4 local modules.
# The split is chosen for memory, not by stage name: layer2 holds the largest activations, so it is cut in
# two (see docs/det.md for the measurements).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
