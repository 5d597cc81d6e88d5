# End-to-end baseline on the SR demo set for the RDN family: mmagic's RDN x2 at demo size (32 channels, 8 residual
# dense blocks of 4 layers, growth 16, its own input normalisation), trained as the EDSR x2 demo trains (data,
# schedule, optimizer). Results: docs/benchmarks.md, "Every family" (sr-rdn).
_base_ = './edsr_x2c32b8_demo.py'

model = dict(
    generator=dict(_delete_=True, type='RDNNet', in_channels=3, out_channels=3, mid_channels=32, num_blocks=8,
                   num_layers=4, channel_growth=16, upscale_factor=2),
    data_preprocessor=dict(mean=[0., 0., 0.], std=[255., 255., 255.]))
