# FBA K=4 on the demo set with the detection default recipe of the K=4 COCO configs: auxiliary nets tied to the model's
# own later blocks, neck and heads, one block per later stage, at full resolution; heads and RoI counts stay CPU-sized
# as in the baseline, and the copied blocks are not checkpointed (at 128 px there is little to save).
# Trained against end-to-end in docs/benchmarks.md, "The front" (det-12e).
_base_ = './faster-rcnn_r18_fpn_demo.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningDetector',
    architecture={{_base_.model}},
    split_points=['layer2.1', 'layer3', 'layer4'],
    aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied', scale=1.0))
