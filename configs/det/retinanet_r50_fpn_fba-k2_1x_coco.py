# RetinaNet R50-FPN on COCO, trained by FBA with K=2 local modules: module 1 is layer2 (the largest activations),
# module 2 is layer3 + layer4 + neck + heads. See docs/det.md for memory and speed.
_base_ = './retinanet_r50_fpn_fba-k4_1x_coco.py'

# one auxiliary net only: the full-resolution SLM, tied to the main model's own parts
model = dict(split_points=['layer3'], aux_net=dict(_delete_=True, type='SLMAuxNet', depth=1, weight_source='tied'))
