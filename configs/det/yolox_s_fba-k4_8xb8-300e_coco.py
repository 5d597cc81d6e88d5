# YOLOX-s, FBA K=4 with the detection default recipe (auxiliary nets tied to the model's own later stages, neck and
# head, at full resolution). CSPDarknet is cut so that the full-resolution layers get modules of their own: the stem
# and stage 1's stride-2 conv, stage 1's CSP layer, stage 2, then stages 3-4 with the neck and head. The stock
# custom_hooks run as they are. Measured in docs/det.md, "RTMDet-s and YOLOX-s"; accuracy not yet trained.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['stage1.1.main_conv', 'stage2', 'stage3'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
