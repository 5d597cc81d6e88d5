# RRDBNet x4 (c64b23g32, ESRGAN's PSNR stage) on DIV2K, FBA K=4: the 23 RRDBs cut 6 + 6 + 6 + 5, modules 1-3 trained by
# SLM auxiliary nets that run the generator's own x4 tail, detached (weight_source='tied'), with no extra body block
# (depth=0). Data, schedule and Set14 evaluation are the stock ones.
# Memory: docs/sr.md, "Total memory: RRDBNet, RDN and SwinIR". Accuracy not yet trained.
_base_ = 'mmagic::esrgan/esrgan_psnr-x4c64b23g32_1xb16-1000k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.6', 'body.12', 'body.18'],
    aux_net=dict(type='SLMAuxNet', depth=0, weight_source='tied'))
