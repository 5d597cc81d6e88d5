# End-to-end EDSR x4 on the SR demo set: the x2 demo recipe (tools/misc/make_demo_sr.py data, c32b8 generator,
# schedule, optimizer) at scale 4. The HR patch grows to 128 px so that the LR patch stays 32 px, as the stock x4
# recipe keeps its LR patch at the x2 recipe's size. Trained from scratch (the stock x4 recipe starts from a
# trained x2 model; that is a separate choice, not made here).
_base_ = './edsr_x2c32b8_demo.py'

scale = 4
model = dict(generator=dict(upscale_factor=scale), test_cfg=dict(crop_border=scale))

train_pipeline = [
    dict(type='LoadImageFromFile', key='img', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='LoadImageFromFile', key='gt', color_type='color', channel_order='rgb', imdecode_backend='cv2'),
    dict(type='SetValues', dictionary=dict(scale=scale)),
    dict(type='PairedRandomCrop', gt_patch_size=128),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(data_prefix=dict(img='LRbicx4', gt='HR'), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_prefix=dict(img='LRbicx4', gt='HR')))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='MAE'),
    dict(type='PSNR', crop_border=scale, convert_to='Y'),
    dict(type='SSIM', crop_border=scale, convert_to='Y'),
])
test_dataloader = [val_dataloader]
test_evaluator = [val_evaluator]
