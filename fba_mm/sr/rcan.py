"""RCAN (Zhang et al., ECCV 2018), which mmagic 1.2 no longer ships; laid out like mmagic's ``EDSRNet``."""
import torch
import torch.nn as nn
from mmagic.models.editors.edsr.edsr_net import UpsampleModule
from mmagic.models.utils import make_layer
from mmagic.registry import MODELS
from mmengine.model import BaseModule


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation over channels: global average pool, bottleneck, sigmoid gate."""

    def __init__(self, mid_channels: int, squeeze_factor: int = 16) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid_channels, mid_channels // squeeze_factor, 1, padding=0),
            nn.ReLU(inplace=True), nn.Conv2d(mid_channels // squeeze_factor, mid_channels, 1, padding=0),
            nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class RCAB(nn.Module):
    """Residual channel-attention block: conv-ReLU-conv-attention, scaled and added to the input."""

    def __init__(self, mid_channels: int, squeeze_factor: int = 16, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.body = nn.Sequential(
            nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True),
            ChannelAttention(mid_channels, squeeze_factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class ResidualGroup(nn.Module):
    """``num_blocks`` RCABs and a conv, with a skip around them (RCAN's residual-in-residual)."""

    def __init__(self, mid_channels: int, num_blocks: int, squeeze_factor: int = 16, res_scale: float = 1.0) -> None:
        super().__init__()
        self.residual_group = make_layer(RCAB, num_blocks, mid_channels=mid_channels, squeeze_factor=squeeze_factor,
                                         res_scale=res_scale)
        self.conv = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.residual_group(x))


@MODELS.register_module()
class RCANNet(BaseModule):
    """RCAN: residual groups of residual channel-attention blocks.

    Same outer layout as mmagic's ``EDSRNet`` (``conv_first``, ``body``, ``conv_after_body`` + global skip,
    ``upsample``, ``conv_last``, mean shift), so the local-learning editor cuts it at ``'body.<group>'``::

        generator=dict(type='RCANNet', in_channels=3, out_channels=3, mid_channels=64, num_groups=10,
                       num_blocks=20, upscale_factor=2)

    Args:
        in_channels (int), out_channels (int): image channels.
        mid_channels (int): feature channels. Default: 64.
        num_groups (int): residual groups in the body. Default: 10.
        num_blocks (int): RCABs per group. Default: 20.
        squeeze_factor (int): channel reduction in the attention. Default: 16.
        upscale_factor (int): 2^n or 3. Default: 4.
        res_scale (float): scale of each RCAB's residual. Default: 1.
        rgb_mean, rgb_std: image statistics subtracted before and added after (DIV2K's by default).
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_groups: int = 10,
                 num_blocks: int = 20, squeeze_factor: int = 16, upscale_factor: int = 4, res_scale: float = 1.0,
                 rgb_mean=(0.4488, 0.4371, 0.4040), rgb_std=(1.0, 1.0, 1.0), init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.mid_channels, self.upscale_factor = mid_channels, upscale_factor
        # plain tensors, not buffers, as in EDSRNet: checkpoints of the two nets hold the same kind of keys
        self.mean = torch.Tensor(rgb_mean).view(1, -1, 1, 1)
        self.std = torch.Tensor(rgb_std).view(1, -1, 1, 1)
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.body = nn.Sequential(*[
            ResidualGroup(mid_channels, num_blocks, squeeze_factor=squeeze_factor, res_scale=res_scale)
            for _ in range(num_groups)
        ])
        self.conv_after_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.upsample = UpsampleModule(upscale_factor, mid_channels)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(x), self.std.to(x)
        x = self.conv_first((x - mean) / std)
        res = self.conv_after_body(self.body(x)) + x
        return self.conv_last(self.upsample(res)) * std + mean
