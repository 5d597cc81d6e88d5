# RDN x2 (c64b16) on DIV2K, FBA K=4: four modules of 4 residual dense blocks. The global feature fusion reads all 16
# block outputs, so the feature bank carries those of modules 1-3 (detached, one key per block) to the real tail; each
# auxiliary net runs the generator's own tail, detached (tied, depth=0), with zeros for the blocks after its module.
# Data, schedule and Set5 evaluation are the stock ones. Memory: docs/sr.md, "Total memory: RRDBNet, RDN and SwinIR".
_base_ = 'mmagic::rdn/rdn_x2c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['rdbs.4', 'rdbs.8', 'rdbs.12'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
