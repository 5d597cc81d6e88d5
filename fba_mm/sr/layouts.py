"""How fba_mm.sr reads a stock SR generator: its stem, its residual body (the cuttable blocks), its tail, and
what the global skip needs."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmagic.models.editors.edsr.edsr_net import EDSRNet
from mmagic.models.editors.srgan.sr_resnet import MSRResNet

from fba_mm.core import ConfigError
from fba_mm.core.aux_rules import copy_without

from .rcan import RCANNet


class SRLayout:
    """A generator as ``stem -> body[0] -> ... -> body[n-1] -> tail(·, skip)``.

    ``skip`` is what the global skip connection adds back in the tail: the shallow feature (EDSR, RCAN) or the
    LR input (MSRResNet). Local modules after the first do not compute it, so the feature bank carries it.
    """
    body: str = 'body'
    stem: Tuple[str, ...] = ('conv_first', )
    tail: Tuple[str, ...] = ()

    def forward_stem(self, g: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return (input of body[0], skip)."""
        raise NotImplementedError

    def forward_tail(self, g: nn.Module, feat: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """The tail of generator ``g`` (or of a copy holding its tail modules) on the body's output."""
        raise NotImplementedError

    def zero_skip(self, g: nn.Module, feat: torch.Tensor) -> torch.Tensor:
        """What the skip is without a feature bank (the ablation): zeros of its shape."""
        raise NotImplementedError


class EDSRLayout(SRLayout):
    """EDSRNet and RCANNet: mean shift, conv_first; body; conv_after_body + shallow feature, upsample, conv_last."""
    tail = ('conv_after_body', 'upsample', 'conv_last')

    def forward_stem(self, g, x):
        feat = g.conv_first((x - g.mean.to(x)) / g.std.to(x))
        return feat, feat

    def forward_tail(self, g, feat, skip):
        res = g.conv_after_body(feat) + skip
        return g.conv_last(g.upsample(res)) * g.std.to(feat) + g.mean.to(feat)

    def zero_skip(self, g, feat):
        return torch.zeros_like(feat)


class MSRResNetLayout(SRLayout):
    """MSRResNet: lrelu(conv_first); trunk_net; upsample(s), conv_hr, conv_last + bilinearly upsampled LR input."""
    body = 'trunk_net'

    def __init__(self, upscale_factor: int) -> None:
        ups = ('upsample1', 'upsample2') if upscale_factor == 4 else ('upsample1', )
        self.tail = ups + ('conv_hr', 'conv_last')

    def forward_stem(self, g, x):
        return g.lrelu(g.conv_first(x)), x

    def forward_tail(self, g, feat, skip):
        for name in self.tail[:-2]:
            feat = getattr(g, name)(feat)
        return g.conv_last(g.lrelu(g.conv_hr(feat))) + g.img_upsampler(skip)

    def zero_skip(self, g, feat):
        return feat.new_zeros(feat.shape[0], g.in_channels, *feat.shape[2:])


def layout_of(generator: nn.Module) -> SRLayout:
    if isinstance(generator, (EDSRNet, RCANNet)):
        return EDSRLayout()
    if isinstance(generator, MSRResNet):
        return MSRResNetLayout(generator.upscale_factor)
    raise ConfigError(
        f'generator {type(generator).__name__} is not supported: fba_mm.sr cuts EDSRNet, MSRResNet and RCANNet '
        'along their residual body. For another net, add an SRLayout (fba_mm/sr/layouts.py) that names its stem, '
        'body and tail.')


def tail_copy(generator: nn.Module, layout: SRLayout) -> nn.Module:
    """A copy of the generator holding only its tail modules (the stem and body are left out, not copied)."""
    left_out = (layout.body, ) + layout.stem
    shadow = copy_without(generator, left_out)
    for name in left_out:
        del shadow._modules[name]
    return shadow


def check_editor(architecture: nn.Module) -> Optional[SRLayout]:
    from mmagic.models import BaseEditModel
    if not isinstance(architecture, BaseEditModel) or \
            type(architecture).forward_train is not BaseEditModel.forward_train:
        raise ConfigError(
            f'{type(architecture).__name__} is not supported: fba_mm.sr trains BaseEditModel editors, whose loss is '
            'pixel_loss(generator(lr), gt). Editors with other training (GANs, video) need their own adapter.')
    return layout_of(architecture.generator)
