# RetinaNet R50-FPN on COCO, FBA K=2: module 1 is layer2, module 2 layer3, layer4, the neck and head; one auxiliary
# net, tied to the model's own later blocks, neck and head, at full resolution. Activation memory of this split (then
# with trained copies): docs/det.md, "The full-resolution SLM, and K=2".
_base_ = './retinanet_r50_fpn_fba-k4_1x_coco.py'

# one auxiliary net only: the full-resolution SLM, tied to the main model's own parts
model = dict(split_points=['layer3'], aux_net=dict(_delete_=True, type='SLMAuxNet', depth=1, weight_source='tied'))
