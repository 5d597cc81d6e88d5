# RRDBNet x4 (c64b23g32, ESRGAN's PSNR stage) on DIV2K, trained with FBA K=4: the 23 RRDBs cut 6 + 6 + 6 + 5, each
# module but the last trained by an SLM auxiliary net. Data, schedule and Set14 evaluation are the stock ones. The
# auxiliary nets run the generator's own x4 tail (conv_body + shallow feature from the bank, two nearest x2
# upsamplings, conv_hr, conv_last) with its weights detached (weight_source='tied') and no extra body block
# (depth=0), the settings chosen for EDSR by total memory (docs/sr.md); RRDBNet's own figures are to be measured.
_base_ = 'mmagic::esrgan/esrgan_psnr-x4c64b23g32_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.6', 'body.12', 'body.18'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
optim_wrapper = dict(constructor='LocalOptimWrapperConstructor')
# the hooks of local learning join the stock default_hooks (the stock custom_hooks stay as they are): set-up checks,
# memory logging, auxiliary-free *_stock.pth twins of the checkpoints, per-module loss curves; a compact log line
default_hooks = dict(
    local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
    stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))
log_processor = dict(type='LocalLogProcessor')
model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
