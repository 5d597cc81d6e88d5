# TOOD R50-FPN on COCO, FBA K=4 with the detection default recipe of faster-rcnn_r50_fpn_fba-k4_1x_coco.py (auxiliary
# nets tied to the model's own later blocks, neck and head, at full resolution, the copied blocks checkpointed). The
# auxiliary heads read the epoch as the real head does, so every module leaves TOOD's initial ATSS assigner after
# train_cfg.initial_epoch with it (tests/det/test_tood.py). Not measured; accuracy not yet trained.
_base_ = 'mmdet::tood/tood_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.2', 'layer3.1', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0, with_cp=True))
