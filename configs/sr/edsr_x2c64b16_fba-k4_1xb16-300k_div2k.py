# EDSR x2 (c64b16) on DIV2K, trained with FBA K=4: four modules of 4 residual blocks, each but the last trained by an
# SLM auxiliary net. Data, schedule and Set5/Set14 evaluation are the stock ones.
# The recipe is the one chosen on the demo set's accuracy-memory front (docs/benchmarks.md, "The front"), shared with
# configs/sr/demo/edsr_x2c32b8_fba-k4_demo.py and the x3/x4 configs: trained copies of one body block and of the tail
# (weight_source='copy', depth=1), 0.55x end-to-end's total memory at the stock input (16 x 48x48), below
# checkpointing's 0.64x. The tied tail without a copied block (depth=0) needs 0.48x but trailed end-to-end by 0.49 dB
# on the demo set (seed 0).
_base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.4', 'body.8', 'body.12'],
    aux_net=dict(type='SLMAuxNet', depth=1))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
