# RetinaNet R50-FPN on COCO, trained by FBA with K=4 local modules. Defaults chosen by measuring total memory
# (every live tensor, as max_memory_allocated counts it; docs/det.md):
# - the split balances memory, not stage names: layer2 holds the largest activations, so it is cut in two;
# - the auxiliary nets are tied to the main model's own later blocks, neck and heads (weight_source='tied'):
#   trained copies would add more parameters + optimizer state than the activations FBA saves;
# - they run at half resolution (aux_net.scale=0.5): at full resolution each costs
#   about as much memory and time as the real heads.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=0.5))
# one optimizer per module, from the stock settings; a clip_grad added here bounds each module's norm (logged as
# m{k}.grad_norm), so the whole gradient's norm can reach sqrt(4) x max_norm
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
