# DINO-4scale R50, FBA K=4 with the detection default recipe: the ResNet-50 cut as in faster-rcnn_r50_fpn_fba-k4, and
# modules 1-3 trained by auxiliary nets tied to the model's own later blocks, neck, first encoder layer, decoder and
# head (with its denoising queries), at full resolution; module 4 trains layer4, the neck, the encoder and the rest.
# Measured in docs/det.md, "DINO-4scale R50: the encoder cut". Accuracy not yet trained.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))
