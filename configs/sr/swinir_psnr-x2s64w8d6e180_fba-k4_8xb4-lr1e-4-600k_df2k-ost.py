# SwinIR x2 (real-world SR, PSNR stage, 'nearest+conv' upsampler), FBA K=4: RSTBs cut 2 + 2 + 1 + 1, modules handing on
# the token state; each auxiliary net runs the generator's own tail, detached (tied, depth=0). The stock config is
# mmagic's test config (no training data or schedule; the optimizer below is its name's): add a train_dataloader and
# train_cfg to train, or use swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py for bicubic x2 SR.
_base_ = 'mmagic::swinir/swinir_psnr-x2s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['layers.2', 'layers.4', 'layers.5'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
