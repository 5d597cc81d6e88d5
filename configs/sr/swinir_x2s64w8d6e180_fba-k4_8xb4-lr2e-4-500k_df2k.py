# SwinIR x2 (classical SR, 'pixelshuffle' upsampler) on DF2K, FBA K=4 as the real-world SwinIR config beside it (RSTBs
# cut 2 + 2 + 1 + 1, tied tail, depth=0), with a stock training config: data, schedule and Set5 evaluation are its.
# Memory: docs/sr.md, "Total memory: RRDBNet, RDN and SwinIR". Accuracy not yet trained.
_base_ = 'mmagic::swinir/swinir_x2s64w8d6e180_8xb4-lr2e-4-500k_df2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['layers.2', 'layers.4', 'layers.5'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
