"""How fba_mm.sr reads a stock SR generator: its stem, its residual body (the cuttable blocks), its tail, and
what the tail needs from earlier parts (the global skip; RDN's fusion of every block's output)."""
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.models.archs import pixel_unshuffle
from mmagic.models.editors.edsr.edsr_net import EDSRNet
from mmagic.models.editors.esrgan.rrdb_net import RRDBNet
from mmagic.models.editors.rdn.rdn_net import RDNNet
from mmagic.models.editors.srgan.sr_resnet import MSRResNet
from mmagic.models.editors.swinir.swinir_net import SwinIRNet

from fba_mm.core import LAYOUTS, ConfigError, Layout
from fba_mm.core.functional import maybe_checkpoint

from .rcan import RCANNet


class SRLayout(Layout):
    """A generator as ``stem -> body[0] -> ... -> body[n-1] -> tail(·, skip)``: one stage, the residual body.

    What flows between body blocks is the *body state*: a feature map for most nets, a structure for
    transformers (SwinIR's ``(tokens, x_size, input_size)``); core detaches it as a whole between modules.
    ``skip`` is what the global skip connection adds back in the tail: the shallow feature (EDSR, RCAN, RRDBNet,
    RDN, SwinIR) or the LR input (MSRResNet). Local modules after the first do not compute it, so the feature
    bank carries it (``'skip'``, from :meth:`forward_stem`). With ``bank_carries_blocks`` (RDN) the tail also
    fuses the output of *every* body block, so the bank carries each block's output under the block's name.
    """
    body: str = 'body'
    stem_modules: Tuple[str, ...] = ('conv_first', )
    tail: Tuple[str, ...] = ()

    def stem(self, net):
        return list(self.stem_modules)

    def stages(self, net):
        return OrderedDict([(self.body, [f'{self.body}.{i}' for i in range(len(getattr(net, self.body)))])])

    def forward_stem(self, g: nn.Module, x: torch.Tensor):
        """Return (input of body[0], ``{'skip': skip}``)."""
        raise NotImplementedError

    def forward_tail(self, g: nn.Module, feat, skip: torch.Tensor,
                     block_outputs: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
        """The tail of generator ``g`` (or of a partial copy holding its tail modules) on the body's output; with
        ``bank_carries_blocks``, ``block_outputs`` holds the output of every body block, in order."""
        raise NotImplementedError

    def zero_skip(self, g: nn.Module, feat) -> torch.Tensor:
        """What the skip is without a feature bank (the ablation): zeros of its shape."""
        raise NotImplementedError

    def zero_block_output(self, g: nn.Module, feat) -> torch.Tensor:
        """A body block's output that an auxiliary net has not got (``bank_carries_blocks``): zeros of its shape."""
        return torch.zeros_like(feat)

    def feature_channels(self, g: nn.Module) -> int:
        """Channels of the body's feature map (DGL's convs are this wide)."""
        return g.mid_channels

    def map_feature(self, feat, fn):
        """``fn`` (image-shaped layers, DGL's convs) applied to the feature map inside the body state."""
        return fn(feat)

    #: a cropped window's sides are multiples of this (``aux_net.crop``; SwinIR: its attention window)
    crop_unit: int = 1

    def state_size(self, feat) -> Tuple[int, int]:
        """Height and width of the grid the body state lays out (what ``aux_net.crop`` cuts a window of)."""
        if not isinstance(feat, torch.Tensor) or feat.dim() != 4:
            raise ConfigError(f'aux_net.crop needs a feature map between body blocks, and {type(self).__name__} '
                              f'passes {type(feat).__name__}; use crop=1.')
        return tuple(feat.shape[-2:])

    def crop_state(self, feat, top: int, left: int, height: int, width: int):
        """The body state in one window of its grid."""
        return feat[..., top:top + height, left:left + width]


@LAYOUTS.register_module()
class EDSRLayout(SRLayout):
    """EDSRNet and RCANNet: mean shift, conv_first; body; conv_after_body + shallow feature, upsample, conv_last."""
    network_types = (EDSRNet, RCANNet)
    tail = ('conv_after_body', 'upsample', 'conv_last')

    def forward_stem(self, g, x):
        feat = g.conv_first((x - g.mean.to(x)) / g.std.to(x))
        return feat, {'skip': feat}

    def forward_tail(self, g, feat, skip, block_outputs=None):
        res = g.conv_after_body(feat) + skip
        return g.conv_last(g.upsample(res)) * g.std.to(feat) + g.mean.to(feat)

    def zero_skip(self, g, feat):
        return torch.zeros_like(feat)


@LAYOUTS.register_module()
class MSRResNetLayout(SRLayout):
    """MSRResNet: lrelu(conv_first); trunk_net; upsample(s), conv_hr, conv_last + bilinearly upsampled LR input."""
    network_types = (MSRResNet, )
    body = 'trunk_net'

    def __init__(self, g: MSRResNet) -> None:
        ups = ('upsample1', 'upsample2') if g.upscale_factor == 4 else ('upsample1', )
        self.tail = ups + ('conv_hr', 'conv_last')

    def forward_stem(self, g, x):
        return g.lrelu(g.conv_first(x)), {'skip': x}

    def forward_tail(self, g, feat, skip, block_outputs=None):
        for name in self.tail[:-2]:
            feat = getattr(g, name)(feat)
        return g.conv_last(g.lrelu(g.conv_hr(feat))) + g.img_upsampler(skip)

    def zero_skip(self, g, feat):
        return feat.new_zeros(feat.shape[0], g.in_channels, *feat.shape[2:])


@LAYOUTS.register_module()
class RRDBNetLayout(SRLayout):
    """RRDBNet (ESRGAN, Real-ESRGAN): pixel-unshuffle (x1, x2), conv_first; body (RRDBs); conv_body + shallow
    feature, two nearest x2 upsamplings each with a conv and lrelu, lrelu(conv_hr), conv_last (as
    ``RRDBNet.forward``; x1/x2 nets unshuffle the input first, so the body always runs at 1/4 of the output)."""
    network_types = (RRDBNet, )
    tail = ('conv_body', 'conv_up1', 'conv_up2', 'conv_hr', 'conv_last')

    def forward_stem(self, g, x):
        if g.upscale_factor in (1, 2):
            x = pixel_unshuffle(x, scale=4 // g.upscale_factor)
        feat = g.conv_first(x)
        return feat, {'skip': feat}

    def forward_tail(self, g, feat, skip, block_outputs=None):
        feat = skip + g.conv_body(feat)
        feat = g.lrelu(g.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = g.lrelu(g.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        return g.conv_last(g.lrelu(g.conv_hr(feat)))

    def zero_skip(self, g, feat):
        return torch.zeros_like(feat)

    def feature_channels(self, g):
        return g.conv_body.in_channels  # RRDBNet keeps no mid_channels attribute


@LAYOUTS.register_module()
class RDNLayout(SRLayout):
    """RDNNet: sfe1, sfe2; rdbs (residual dense blocks); gff over the concatenated outputs of *all* rdbs + sfe1,
    upscale, output (as ``RDNNet.forward``).

    The global feature fusion is why ``bank_carries_blocks``: the real tail of the last module gets the outputs
    of earlier modules' blocks from the feature bank (detached) and its own blocks' live outputs.
    """
    network_types = (RDNNet, )
    body = 'rdbs'
    stem_modules = ('sfe1', 'sfe2')
    tail = ('gff', 'upscale', 'output')
    bank_carries_blocks = True

    def forward_stem(self, g, x):
        sfe1 = g.sfe1(x)
        return g.sfe2(sfe1), {'skip': sfe1}

    def forward_tail(self, g, feat, skip, block_outputs=None):
        x = g.gff(torch.cat(list(block_outputs), 1)) + skip
        return g.output(g.upscale(x))

    def zero_skip(self, g, feat):
        return torch.zeros_like(feat)


@LAYOUTS.register_module()
class SwinIRLayout(SRLayout):
    """SwinIRNet: pad to a window-size multiple, mean shift and img_range, conv_first, patch_embed, pos_drop;
    residual Swin transformer blocks (``layers.i``, RSTBs); norm, patch_unembed, conv_after_body + shallow
    feature, the upsampler, undo the mean shift, crop the padding away (as ``SwinIRNet.forward``).

    The body state is ``(tokens, x_size, input_size)``: the B x L x C tokens, the (padded) size they are laid
    out in, which every RSTB takes, and the input's size before padding, which the tail crops back to. All four
    upsamplers are supported; with ``upsampler=''`` (denoising, JPEG artifact reduction) the tail also adds the
    normalised input back, so the skip is the shallow feature and that input concatenated along channels (one
    tensor, so the bank carries it as it carries any skip). ``ape=True`` is refused: the absolute position
    embedding is a bare parameter of the generator, which no local module can own.
    """
    network_types = (SwinIRNet, )
    body = 'layers'
    stem_modules = ('conv_first', 'patch_embed')
    upsamplers = ('pixelshuffle', 'pixelshuffledirect', 'nearest+conv', '')

    def __init__(self, g: SwinIRNet) -> None:
        if g.ape:
            raise ConfigError('SwinIRNet(ape=True) is not supported: its absolute position embedding is a parameter '
                              'of the generator itself, not of a module that a local module could own. Use ape=False '
                              '(the default of every stock SwinIR config).')
        # any other value runs SwinIRNet.forward's last branch (denoising), so it is read the same way here
        self.upsampler = g.upsampler if g.upsampler in self.upsamplers else ''
        ups = {'pixelshuffle': ('conv_before_upsample', 'upsample', 'conv_last'),
               'pixelshuffledirect': ('upsample', ),
               'nearest+conv': ('conv_before_upsample', 'conv_up1') + (('conv_up2', ) if g.upscale == 4 else ()) +
               ('conv_hr', 'conv_last'),
               '': ('conv_last', )}[self.upsampler]
        self.tail = ('norm', 'patch_unembed', 'conv_after_body') + ups
        self.skip_channels = g.embed_dim + (g.conv_first.in_channels if self.upsampler == '' else 0)
        self.crop_unit = g.window_size  # a window of whole attention windows: every RSTB runs on it as on a patch

    def forward_stem(self, g, x):
        size = tuple(x.shape[2:])
        x = g.check_image_size(x)
        x = (x - g.mean.type_as(x)) * g.img_range
        x_first = g.conv_first(x)
        tokens = g.pos_drop(g.patch_embed(x_first))
        skip = torch.cat([x_first, x], 1) if self.upsampler == '' else x_first
        return (tokens, tuple(x_first.shape[2:]), size), {'skip': skip}

    def run_block(self, block, feat, with_cp=False):
        tokens, x_size, size = feat
        return maybe_checkpoint(block, tokens, x_size, enabled=with_cp), x_size, size

    def forward_tail(self, g, feat, skip, block_outputs=None):
        tokens, x_size, (h, w) = feat
        x = g.patch_unembed(g.norm(tokens), x_size)
        if self.upsampler == '':
            x_first, x_in = skip[:, :g.embed_dim], skip[:, g.embed_dim:]
            x = x_in + g.conv_last(g.conv_after_body(x) + x_first)
        else:
            x = g.conv_after_body(x) + skip
            if self.upsampler == 'pixelshuffle':
                x = g.conv_last(g.upsample(g.conv_before_upsample(x)))
            elif self.upsampler == 'pixelshuffledirect':
                x = g.upsample(x)
            else:  # 'nearest+conv'
                x = g.conv_before_upsample(x)
                x = g.lrelu(g.conv_up1(F.interpolate(x, scale_factor=2, mode='nearest')))
                if g.upscale == 4:
                    x = g.lrelu(g.conv_up2(F.interpolate(x, scale_factor=2, mode='nearest')))
                x = g.conv_last(g.lrelu(g.conv_hr(x)))
        x = x / g.img_range + g.mean.type_as(x)
        return x[:, :, :h * g.upscale, :w * g.upscale]

    def zero_skip(self, g, feat):
        tokens, x_size, _ = feat
        return tokens.new_zeros(tokens.shape[0], self.skip_channels, *x_size)

    def feature_channels(self, g):
        return g.embed_dim

    def map_feature(self, feat, fn):
        tokens, x_size, size = feat
        b, _, c = tokens.shape
        x = fn(tokens.transpose(1, 2).reshape(b, c, *x_size))
        return x.flatten(2).transpose(1, 2), x_size, size

    def state_size(self, feat):
        tokens, x_size, size = feat
        if tuple(x_size) != tuple(size):  # the padding has no HR target to crop alongside
            raise ConfigError(f'aux_net.crop on SwinIR needs LR patches whose sides are multiples of window_size='
                              f'{self.crop_unit}; this one ({size[0]}x{size[1]}) is padded to {x_size[0]}x{x_size[1]}. '
                              'Crop such patches (gt_patch_size = scale x a multiple of window_size, as the stock '
                              'configs do) or use crop=1.')
        return tuple(x_size)

    def crop_state(self, feat, top, left, height, width):
        tokens, x_size, _ = feat
        b, _, c = tokens.shape
        window = tokens.view(b, *x_size, c)[:, top:top + height, left:left + width]
        return window.reshape(b, height * width, c), (height, width), (height, width)


def check_editor(architecture: nn.Module) -> None:
    from mmagic.models import BaseEditModel
    if not isinstance(architecture, BaseEditModel) or \
            type(architecture).forward_train is not BaseEditModel.forward_train:
        raise ConfigError(
            f'{type(architecture).__name__} is not supported: fba_mm.sr trains BaseEditModel editors, whose loss is '
            'pixel_loss(generator(lr), gt). Editors with other training (GANs, video) need their own adapter.')
