# EDSR x3 (c64b16) on DIV2K, FBA K=2: two modules of 8 residual blocks; module 1 is trained by an SLM auxiliary net
# (trained copies of the next block and of the tail, on the whole patch). Data, schedule and Set5/Set14 evaluation are
# the stock ones.
_base_ = 'mmagic::edsr/edsr_x3c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.8'],
    aux_net=dict(type='SLMAuxNet', depth=1))
