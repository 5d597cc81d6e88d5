# FBA K=4 on the demo set: the baseline's detector wrapped as the architecture; three lines more for the
# per-module optimizers, the hook and distributed training.
_base_ = './faster-rcnn_r18_fpn_demo.py'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
custom_hooks = [dict(type='LocalLearningHook')]
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
