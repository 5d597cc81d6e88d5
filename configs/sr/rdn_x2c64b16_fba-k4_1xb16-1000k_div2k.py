# RDN x2 (c64b16) on DIV2K, trained with FBA K=4: four modules of 4 residual dense blocks. RDN's global feature
# fusion (gff) concatenates the outputs of all 16 blocks, so the feature bank carries every block output of modules
# 1..3 (detached, one key per block, 'rdbs.0'..'rdbs.11') to the real tail, beside the shallow feature sfe1 for the
# global skip. Each auxiliary net runs the generator's own tail, detached (weight_source='tied'), on the bank's
# outputs of earlier modules' blocks, its module's live ones, and zeros for the blocks after it (depth=0: no copied
# block). Data, schedule and Set5 evaluation are the stock ones.
_base_ = 'mmagic::rdn/rdn_x2c64b16_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['rdbs.4', 'rdbs.8', 'rdbs.12'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
