# RetinaNet R50-FPN on COCO, trained by FBA with K=4 local modules.
# The split is chosen for memory, not by stage name: layer2 holds the largest activations, so it is cut in
# two. The auxiliary nets run at half resolution (aux_net.scale=0.5):
# at full resolution each costs about as much memory and time as the real heads, and three of them dominate the
# step (docs/det.md has both settings measured).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, scale=0.5))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
