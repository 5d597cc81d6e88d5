# RDN x2 (c64b16) on DIV2K, FBA K=4: four modules of 4 residual dense blocks. The global feature fusion reads all 16
# block outputs, so the feature bank carries those of modules 1-3 (detached, one key per block) to the real tail. Each
# auxiliary net trains copies of the next block and of the tail on a random window of half the patch's side (EDSR
# x2's recipe), with zeros for the later blocks. Data, schedule and Set5 evaluation are the stock ones. Measured:
# docs/benchmarks.md, "Every family" (sr-rdn).
_base_ = 'mmagic::rdn/rdn_x2c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['rdbs.4', 'rdbs.8', 'rdbs.12'],
    aux_net=dict(type='SLMAuxNet', depth=1, crop=0.5))
