# SwinIR x2 (real-world SR, PSNR stage: 6 RSTBs of depth 6, embed_dim 180, window 8, the stock config's
# 'nearest+conv' upsampler), trained with FBA K=4: RSTBs cut 2 + 2 + 1 + 1 (the last module also holds the tail).
# Module 1 holds the stem (conv_first, patch_embed); modules hand on SwinIR's token state (tokens, padded size, input
# size), detached as a whole. Each auxiliary net runs the generator's own tail (norm, patch_unembed, conv_after_body
# + the shallow feature from the bank, the upsampler, the crop), detached (weight_source='tied'), with no extra RSTB
# (depth=0).
# The stock config is mmagic's *test* config of the released weights (RealSRSet, NIQE): it has no optimizer, training
# data or schedule. The optimizer below is its name's (Adam, lr 1e-4); to train, add a train_dataloader and train_cfg
# (the DF2K-OST degradation pipeline is not in mmagic). For bicubic x2 SR with a ready training set-up see
# swinir_x2s64w8d6e180_fba-k4_8xb4-lr2e-4-500k_df2k.py.
_base_ = 'mmagic::swinir/swinir_psnr-x2s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['layers.2', 'layers.4', 'layers.5'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(
    constructor='LocalOptimWrapperConstructor', type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999)))
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
