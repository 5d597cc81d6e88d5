# FBA K=4 with the auxiliary nets at half resolution (aux_net.scale=0.5): the knob that trades the auxiliary
# heads' memory and compute (about 1/4) against how closely they mimic the real head.
_base_ = './faster-rcnn_r18_fpn_fba-k4_demo.py'

model = dict(aux_net=dict(scale=0.5))
