# End-to-end baseline on the SR demo set for the RRDBNet family (ESRGAN's PSNR-oriented generator): mmagic's RRDBNet
# x4 at demo size (32 channels, 4 residual-in-residual dense blocks, growth 16, its own input normalisation), trained
# as the EDSR x4 demo trains (data, schedule, optimizer). Results: docs/benchmarks.md, "Every family" (sr-rrdb).
_base_ = './edsr_x4c32b8_demo.py'

model = dict(
    generator=dict(_delete_=True, type='RRDBNet', in_channels=3, out_channels=3, mid_channels=32, num_blocks=4,
                   growth_channels=16, upscale_factor=4),
    data_preprocessor=dict(mean=[0., 0., 0.], std=[255., 255., 255.]))
