# End-to-end baseline on the SR demo set (tools/misc/make_demo_sr.py: scikit-image's photographs, bicubic x2):
# the stock EDSR x2 recipe with a light generator (32 channels, 8 blocks) for 2 CPU cores. The FBA configs
# beside it change only the model. Its results: docs/benchmarks.md, "The front" (sr-x2).
_base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

scale = 2
data_root = 'data/demo_sr'
model = dict(generator=dict(mid_channels=32, num_blocks=8))

# the stock augmentation, with 64 px HR patches (stock: 96) to keep an iteration short on 2 cores
train_pipeline = [
    dict(type='LoadImageFromFile', key='img', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='LoadImageFromFile', key='gt', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='SetValues', dictionary=dict(scale=scale)),
    dict(type='PairedRandomCrop', gt_patch_size=64),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(
    num_workers=2,
    batch_size=16,
    dataset=dict(
        ann_file='',
        metainfo=dict(dataset_type='demo_sr', task_name='sisr'),
        data_root=data_root + '/train',
        data_prefix=dict(img='LRbicx2', gt='HR'),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BasicImageDataset',
        metainfo=dict(dataset_type='demo_sr', task_name='sisr'),
        data_root=data_root + '/val',
        data_prefix=dict(img='LRbicx2', gt='HR'),
        pipeline={{_base_.val_pipeline}}))
# PSNR/SSIM on the Y channel with a border of `scale` pixels cropped, the usual SR protocol
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='MAE'),
    dict(type='PSNR', crop_border=scale, convert_to='Y'),
    dict(type='SSIM', crop_border=scale, convert_to='Y'),
])
test_dataloader = [val_dataloader]
test_evaluator = [val_evaluator]

max_iters = 1000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = dict(milestones=[800])
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, out_dir=None, save_best=None, max_keep_ckpts=1))
custom_hooks = []  # no per-image visualisation dumps during the demo
randomness = dict(seed=0)
