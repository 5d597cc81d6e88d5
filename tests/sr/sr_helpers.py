"""Tiny stock mmagic SR editors (few channels and blocks, random init) and batches for them."""
from fba_mm.sr.testing import random_sr_batch

GENERATORS = {
    'edsr': dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=4, upscale_factor=2),
    'msrresnet': dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=4,
                      upscale_factor=4),
    'rcan': dict(type='RCANNet', in_channels=3, out_channels=3, mid_channels=16, num_groups=4, num_blocks=2,
                 squeeze_factor=4, upscale_factor=2),
    'rrdb': dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=4, growth_channels=4,
                 upscale_factor=4),
    'rdn': dict(type='RDNNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=4, num_layers=2,
                channel_growth=4, upscale_factor=2),
    # the stock psnr x2 config's settings (nearest+conv, mlp_ratio 2, drop_path 0.1) at a tiny width and depth
    'swinir': dict(type='SwinIRNet', upscale=2, in_chans=3, img_size=8, window_size=4, img_range=1.0,
                   depths=[2, 2, 2, 2], embed_dim=12, num_heads=[2, 2, 2, 2], mlp_ratio=2, upsampler='nearest+conv',
                   resi_connection='1conv'),
}
BODY = {'edsr': 'body', 'msrresnet': 'trunk_net', 'rcan': 'body', 'rrdb': 'body', 'rdn': 'rdbs', 'swinir': 'layers'}


def tiny_editor(name: str) -> dict:
    """The stock editor config (``BaseEditModel``, L1 loss, [0, 255] -> [0, 1] preprocessing) with a tiny net."""
    return dict(
        type='BaseEditModel',
        generator=dict(GENERATORS[name]),
        pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
        train_cfg=dict(),
        test_cfg=dict(),
        data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))


def build_editor(cfg: dict):
    from mmagic.registry import MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmagic'):
        return MODELS.build(cfg)


def scale_of(name: str) -> int:
    g = GENERATORS[name]
    return g.get('upscale_factor', g.get('upscale'))  # SwinIRNet calls it upscale


def sr_batch(name: str = 'edsr', n: int = 2, size: int = 12, seed: int = 0, width: int = None) -> dict:
    return random_sr_batch(n, size, width, scale=scale_of(name), seed=seed)
