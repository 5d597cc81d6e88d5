# RCAN x2 (10 residual groups of 20 RCABs, 64 channels) on DIV2K, end to end: the recipe of the RCAN paper
# (48 px LR patches, batch 16, Adam 1e-4 halved every 200k iterations) on the stock EDSR x2 data settings.
# mmagic 1.2 ships no RCAN; fba_mm.sr provides RCANNet.
_base_ = 'mmagic::edsr/edsr_x2c64b16_1xb16-300k_div2k.py'
custom_imports = dict(imports=['fba_mm.sr'], allow_failed_imports=False)

experiment_name = 'rcan_x2c64g10b20_1xb16-1000k_div2k'
work_dir = f'./work_dirs/{experiment_name}'
model = dict(
    generator=dict(
        _delete_=True,
        type='RCANNet',
        in_channels=3,
        out_channels=3,
        mid_channels=64,
        num_groups=10,
        num_blocks=20,
        squeeze_factor=16,
        upscale_factor=2,
        rgb_mean=[0.4488, 0.4371, 0.4040],
        rgb_std=[1.0, 1.0, 1.0]))
train_cfg = dict(max_iters=1000000)
param_scheduler = dict(milestones=[200000, 400000, 600000, 800000])
