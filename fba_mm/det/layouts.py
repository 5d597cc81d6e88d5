"""How fba_mm.det reads a detector's backbone: its layout (:mod:`fba_mm.core.layout`) plus what the neck needs,
the stage features of ``out_indices`` with their channels and strides. The bank carries them as ``'stage{i}'``."""
from collections import OrderedDict
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones import CSPDarknet, CSPNeXt, RegNet, ResNet, SwinTransformer

from fba_mm.core import LAYOUTS, ConfigError, Layout
from fba_mm.core.functional import maybe_checkpoint


class BackboneLayout(Layout):
    """A detector backbone: stages whose outputs in ``out_indices`` the neck reads (the bank carries them as
    ``'stage{i}'``, from the stage's exit)."""

    #: the state between blocks is the feature map itself (a tensor), which DGL and AugLocal build on
    state_is_feature = True

    def out_indices(self, net: nn.Module) -> tuple:
        return tuple(net.out_indices)

    def stage_channels(self, net: nn.Module) -> List[int]:
        raise NotImplementedError

    def stage_strides(self, net: nn.Module) -> List[int]:
        """Each stage's stride relative to the stage before (the first stage's is not read)."""
        raise NotImplementedError

    def stage_feature(self, net: nn.Module, stage: int, state) -> torch.Tensor:
        """What the neck reads of ``state`` at the end of ``stage`` (an N x C x H x W map)."""
        return state

    def pool_state(self, state, factor: int):
        """``state`` average-pooled by ``factor`` (an auxiliary net at a lower resolution, ``aux_net.scale``)."""
        return F.avg_pool2d(state, factor, ceil_mode=True)

    def state_size(self, state) -> tuple:
        """The height and width of ``state``'s feature map."""
        return tuple(state.shape[-2:])

    def crop_state(self, state, window):
        """``window`` (a function of an N x C x h x w map, :meth:`fba_mm.det.crop.Window.of`) applied to
        ``state`` (an auxiliary net on part of the image, ``aux_net.crop``)."""
        return window(state)

    def exit_stage(self, net, stage, state):
        if stage in self.out_indices(net):
            return state, {stage_key(stage): self.stage_feature(net, stage, state)}
        return state, {}


def stage_key(stage: int) -> str:
    return f'stage{stage}'


def stage_features(items: Dict[str, torch.Tensor]) -> Dict[int, torch.Tensor]:
    """``{'stage2': f}`` -> ``{2: f}`` (the bank's keys -> the stage indices the neck is fed by)."""
    return {int(k[len('stage'):]): v for k, v in items.items() if k.startswith('stage')}


@LAYOUTS.register_module()
class ResNetLayout(BackboneLayout):
    """mmdet's ResNet family (ResNet, ResNetV1d, ResNeXt, Res2Net, ...): stem (conv1 + norm1 + relu, or the
    deep stem) and max pool; the blocks of each res layer (``layer3.2``)."""
    network_types = (ResNet, )

    def stem(self, net):
        return ['stem'] if net.deep_stem else ['conv1', net.norm1_name]

    def stages(self, net):
        return OrderedDict((name, [f'{name}.{j}' for j in range(len(getattr(net, name)))])
                           for name in net.res_layers)

    def forward_stem(self, net, x):
        x = net.stem(x) if net.deep_stem else net.relu(net.norm1(net.conv1(x)))
        return net.maxpool(x), {}

    def stage_channels(self, net):
        # the last block's last conv (or its downsample conv: both have the stage's width)
        return [[m for m in getattr(net, name)[-1].modules() if isinstance(m, nn.Conv2d)][-1].out_channels
                for name in net.res_layers]

    def stage_strides(self, net):
        return list(net.strides)


@LAYOUTS.register_module()
class RegNetLayout(ResNetLayout):
    """mmdet's RegNet: a ResNet subclass whose stem (3x3 conv, norm, relu) has no max pool."""
    network_types = (RegNet, )

    def stem(self, net):
        return ['conv1', net.norm1_name]

    def forward_stem(self, net, x):
        return net.relu(net.norm1(net.conv1(x))), {}


@LAYOUTS.register_module()
class SwinLayout(BackboneLayout):
    """mmdet's SwinTransformer: patch embedding; the Swin blocks of each stage (``stages.2.blocks.1``); a
    stage's exit is its output norm (``norm{i}``, for the neck) and its patch merging (``stages.{i}.downsample``),
    so both go with the stage's last block. The state between blocks is ``(tokens, (H, W))``.
    ``use_abs_pos_embed=True`` is refused: the embedding is a bare parameter of the backbone."""
    network_types = (SwinTransformer, )
    state_is_feature = False

    def __init__(self, net=None):
        if net is not None and net.use_abs_pos_embed:
            raise ConfigError('SwinTransformer(use_abs_pos_embed=True) is not supported: the absolute position '
                              'embedding is a parameter of the backbone itself, which no local module can own. Use '
                              'use_abs_pos_embed=False (the default of every stock Swin detector config).')

    def stem(self, net):
        return ['patch_embed']

    def stages(self, net):
        return OrderedDict((f'stages.{i}', [f'stages.{i}.blocks.{j}' for j in range(len(stage.blocks))])
                           for i, stage in enumerate(net.stages))

    def exit_parts(self, net, stage):
        parts = [f'norm{stage}'] if stage in self.out_indices(net) else []
        return parts + ([f'stages.{stage}.downsample'] if net.stages[stage].downsample is not None else [])

    def forward_stem(self, net, x):
        x, hw_shape = net.patch_embed(x)
        return (net.drop_after_pos(x), hw_shape), {}

    def run_block(self, block, state, with_cp=False):
        x, hw_shape = state
        return maybe_checkpoint(block, x, hw_shape, enabled=with_cp), hw_shape

    def pool_state(self, state, factor):
        x, (h, w) = state
        x = F.avg_pool2d(x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w), factor, ceil_mode=True)
        return x.flatten(2).transpose(1, 2), tuple(x.shape[2:])

    def state_size(self, state):
        return tuple(state[1])

    def crop_state(self, state, window):
        x, (h, w) = state
        x = window(x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w))
        return x.flatten(2).transpose(1, 2), tuple(x.shape[2:])

    def stage_feature(self, net, stage, state):
        x, (h, w) = state
        out = net.get_submodule(f'norm{stage}')(x)
        return out.view(-1, h, w, net.num_features[stage]).permute(0, 3, 1, 2).contiguous()

    def exit_stage(self, net, stage, state):
        _, items = super().exit_stage(net, stage, state)
        downsample = getattr(net.get_submodule(f'stages.{stage}'), 'downsample', None)
        if downsample is not None:
            state = downsample(*state)
        return state, items

    def stage_channels(self, net):
        return list(net.num_features)

    def stage_strides(self, net):
        return [1] + [_first(s.downsample.sampler.stride) for s in list(net.stages)[:-1]]


def _first(v):
    return v[0] if isinstance(v, (tuple, list)) else v


@LAYOUTS.register_module()
class CSPLayout(BackboneLayout):
    """mmdet's CSPNeXt (RTMDet) and CSPDarknet (YOLOX): a stem (convs, or YOLOX's Focus), then stages
    ``stage1``.. of a stride-2 conv, the last stage's SPP block, and a CSP layer. A CSP layer splits its input into a
    short branch (one conv) and a main branch (a conv, then its blocks), and joins them (concatenation, RTMDet's
    channel attention, a final conv). Its blocks are cut like any others: ``'stage3.1.main_conv'`` (the layer's
    first block, which also runs the short branch) and ``'stage3.1.blocks.0'``.. ; between them the state is
    ``(main, short)``, and the join is the stage's exit, trained with its last block. ``out_indices`` count the stem
    as 0, as the backbone's own do; stage ``i`` of the layout is ``stage{i + 1}``.

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model,
                     split_points=['stage2.1.blocks.1', 'stage3', 'stage4'], aux_net=dict(type='SLMAuxNet', ...))
    """
    network_types = (CSPNeXt, CSPDarknet)
    state_is_feature = False  # (main, short) inside a CSP layer

    def __init__(self, net=None):
        if net is not None and 0 in net.out_indices:
            raise ConfigError(f'{type(net).__name__}(out_indices={tuple(net.out_indices)}): the stem\'s output (index '
                              '0) cannot be read by the neck under local learning; start out_indices at 1.')

    def csp_path(self, net, stage: int) -> str:
        """Path of stage ``stage``'s CSP layer, from the whole backbone's structure (``net`` may be a partial copy)."""
        return self.structure(net)[f'stage{stage + 1}'][-1].split('.blocks.')[0].split('.main_conv')[0]

    def stem(self, net):
        return ['stem']

    def stages(self, net):
        out = OrderedDict()
        for i in range(len(net.layers) - 1):
            stage = f'stage{i + 1}'
            # the stage's modules: a conv (and the last stage's SPP block), then its CSP layer, cut into its blocks
            *convs, csp = [f'{stage}.{j}' for j in range(len(net.get_submodule(stage)))]
            blocks = [f'{csp}.blocks.{j}' for j in range(len(net.get_submodule(csp).blocks))]
            out[stage] = convs + [f'{csp}.main_conv'] + blocks
        return out

    def block_parts(self, net, block):
        parts = super().block_parts(net, block)
        if block.endswith('.main_conv'):  # the first block of a CSP layer runs its short branch as well
            parts.append(block[:-len('main_conv')] + 'short_conv')
        return parts

    def exit_parts(self, net, stage):
        csp = self.csp_path(net, stage)
        return [f'{csp}.final_conv'] + ([f'{csp}.attention'] if net.get_submodule(csp).channel_attention else [])

    def out_indices(self, net):
        return tuple(i - 1 for i in net.out_indices)

    def forward_stem(self, net, x):
        return net.stem(x), {}

    def run_block_at(self, net, name, state, with_cp=False):
        if name.endswith('.main_conv'):
            csp = net.get_submodule(name[:-len('.main_conv')])
            split = lambda x: (csp.main_conv(x), csp.short_conv(x))  # noqa: E731
            return maybe_checkpoint(split, state, enabled=with_cp)
        if isinstance(state, tuple):  # a block inside a CSP layer runs on the main branch
            main, short = state
            return self.run_block(net.get_submodule(name), main, with_cp), short
        return self.run_block(net.get_submodule(name), state, with_cp)

    def exit_stage(self, net, stage, state):
        if isinstance(state, tuple):  # the join: concatenation, channel attention, final conv
            csp = net.get_submodule(self.csp_path(net, stage))
            x = torch.cat(state, dim=1)
            state = csp.final_conv(csp.attention(x) if csp.channel_attention else x)
        return super().exit_stage(net, stage, state)

    def pool_state(self, state, factor):
        if isinstance(state, tuple):
            return tuple(super(CSPLayout, self).pool_state(s, factor) for s in state)
        return super().pool_state(state, factor)

    def state_size(self, state):
        return super().state_size(state[0] if isinstance(state, tuple) else state)

    def crop_state(self, state, window):
        return tuple(map(window, state)) if isinstance(state, tuple) else window(state)

    def stage_channels(self, net):
        return [[m for m in net.get_submodule(f'stage{i + 1}')[0].modules() if isinstance(m, nn.Conv2d)][-1]
                .out_channels for i in range(len(net.layers) - 1)]

    def stage_strides(self, net):
        return [_first([m for m in net.get_submodule(f'stage{i + 1}')[0].modules() if isinstance(m, nn.Conv2d)][0]
                       .stride) for i in range(len(net.layers) - 1)]

