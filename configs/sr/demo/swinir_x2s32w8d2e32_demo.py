# End-to-end baseline on the SR demo set for the SwinIR family: mmagic's SwinIR x2 (pixel-shuffle upsampler) at demo
# size (32-px LR patches, window 8, four residual Swin blocks of two layers, 32 channels, its own input normalisation),
# trained as the EDSR x2 demo trains (data, schedule, optimizer). Results: docs/benchmarks.md, "Every family"
# (sr-swinir).
_base_ = './edsr_x2c32b8_demo.py'

model = dict(
    generator=dict(_delete_=True, type='SwinIRNet', upscale=2, in_chans=3, img_size=32, window_size=8,
                   img_range=1.0, depths=[2, 2, 2, 2], embed_dim=32, num_heads=[2, 2, 2, 2], mlp_ratio=2,
                   upsampler='pixelshuffle', resi_connection='1conv'),
    data_preprocessor=dict(mean=[0., 0., 0.], std=[255., 255., 255.]))
