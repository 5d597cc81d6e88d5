"""Published auxiliary-net strategies, run in the FBA framework as baselines for detectors.

Every strategy is a registered ``aux_net`` of :class:`LocalLearningDetector`, so the baselines train under the
same split, optimizer and data as :class:`SLMAuxNet`. Summary of the four strategies compared:

============  ==============================================  ========================================
strategy      config                                          the auxiliary net of module k
============  ==============================================  ========================================
dgl           ``aux_net=dict(type='DGLAuxNet')``              fresh convs on the live feature alone,
                                                              fresh neck + heads
augloc        ``aux_net=dict(type='AugLocAuxNet')``           fresh blocks shaped like sampled later
                                                              blocks, fresh neck + heads
slm_nobank    ``aux_net=dict(type='SLMAuxNet'),               SLM with zeros for the earlier stages
              use_bank=False``
slm           ``aux_net=dict(type='SLMAuxNet')``              SLM (copied blocks, neck, heads) + bank
============  ==============================================  ========================================
"""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.backbones import ResNet
from mmdet.models.backbones.resnet import Bottleneck
from mmdet.registry import MODELS
from mmengine.model import ModuleList, Sequential

from fba_mm.core import ConfigError
from fba_mm.core.aux_rules import augloc_depth, sample_uniformly
from fba_mm.core.functional import maybe_checkpoint

from .aux_nets import DetAuxNet


def _fresh_norm_cfg(backbone) -> dict:
    # a frozen BN (caffe-style backbones) only makes sense for pretrained weights; fresh layers must learn
    return dict(backbone.norm_cfg, requires_grad=True)


@MODELS.register_module()
class DGLAuxNet(DetAuxNet):
    """Decoupled Greedy Learning (DGL, Belilovsky et al., ICML 2020) adapted to detection as in the FBA paper's
    comparison: a small fresh auxiliary net on the live feature alone.

    For a local module whose output is (a partial) stage ``s``:

    1. ``num_convs`` fresh 3x3 conv + BN + ReLU layers on the live feature (channels and resolution kept);
    2. a fresh copy of the detector's neck fed with that one feature as stage ``s``; every other stage is zeros
       (the feature bank and stages completed inside the module are ignored, by definition);
    3. fresh copies of the detector's heads with their own losses.

    Nothing is copied from the main weights: the layers are initialised by their own ``init_weights`` (the neck's
    and heads' ``init_cfg``, Kaiming for the convs). The BN layers always normalise with batch statistics (they
    are the aux net's own, not copies of the backbone, so ``norm_eval`` does not apply).

    Knobs: ``num_convs`` (0: the neck and heads right on the live feature); ``train_cfg``, ``scale`` and
    ``loss_weight`` as in :class:`SLMAuxNet`; ``with_cp``: activation checkpointing of the conv layers.
    ``architecture``, ``architecture_cfg``, ``live_stage``, ``module_index``, ``num_modules`` and
    ``later_blocks`` are set by the learner (DGL does not use the last three: its net is the same for every module).

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model, split_points=['layer3', 'layer4'],
                     aux_net=dict(type='DGLAuxNet', num_convs=2))
    """

    live_only = True

    def __init__(self, architecture: nn.Module, live_stage: int, num_convs: int = 2, train_cfg: Optional[dict] = None,
                 with_cp: bool = False, **kwargs) -> None:
        super().__init__(architecture, live_stage, **kwargs)
        if not isinstance(num_convs, int) or num_convs < 0:
            raise ConfigError(f'aux_net.num_convs={num_convs!r}: DGLAuxNet needs a number of conv layers >= 0.')
        backbone = architecture.backbone
        self.check_feature_state('DGLAuxNet', backbone)
        channels = self.layout.stage_channels(backbone)[live_stage]
        self.with_cp = with_cp
        # mmengine's Sequential: init_weights() reaches the ConvModules (Kaiming conv, unit BN)
        self.convs = Sequential(*[
            ConvModule(channels, channels, 3, padding=1, conv_cfg=backbone.conv_cfg,
                       norm_cfg=_fresh_norm_cfg(backbone)) for _ in range(num_convs)
        ])
        self.build_neck_and_heads(architecture, train_cfg, fresh=True)

    def forward_stages(self, state, feats: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        x = maybe_checkpoint(self.convs, state, enabled=self.with_cp and len(self.convs) > 0)  # none: nothing to redo
        return {self.live_stage: x}


@MODELS.register_module()
class AugLocAuxNet(DetAuxNet):
    """AugLocal (Ma et al., ICLR 2024) for detectors: an auxiliary net built like a uniform sample of the layers
    that follow the local module, with a depth that shrinks for later modules.

    For local module k of K, whose output is (a partial) stage ``s`` and which is followed by ``later_blocks``:

    1. depth ``d_k = max(min_depth, round(max_depth * (K - 1 - k) / (K - 1)))`` (rounded half up), at most
       ``len(later_blocks)``; ``d_k`` blocks sampled evenly from ``later_blocks`` (first and last included when
       ``d_k >= 2``, the first when ``d_k = 1``);
    2. fresh blocks with the architecture of the sampled ones (the backbone's block type, ``conv_cfg``, norm,
       ``style``, dilation), run one after another on the live feature. Where blocks or stages are skipped, a
       block gets the running feature's channels as input and a stride covering the skipped downsampling, with a
       1x1 conv + BN shortcut when the shape changes, as ``ResNet.make_res_layer`` builds a stage's first block;
    3. a fresh copy of the detector's neck fed with the last output of each stage the blocks reach (the live
       feature is stage ``s``'s output unless a sampled block of stage ``s`` follows it), the earlier stages it
       is given (the bank with ``use_bank=True``, or stages completed inside the module) and zeros elsewhere;
    4. fresh copies of the detector's heads with their own losses.

    Nothing is copied from the main weights. The blocks are initialised as mmdet initialises a ResNet from
    scratch (Kaiming convs, unit BN, last BN of each residual branch zero with ``zero_init_residual``), the neck
    and heads by their own ``init_cfg``. Their BN always normalises with batch statistics in training (fresh
    layers, so the backbone's ``norm_eval``, which is for pretrained statistics, does not apply).

    Knobs: ``max_depth`` (3), ``min_depth`` (1); ``train_cfg``, ``scale``, ``with_cp`` and ``loss_weight`` as in
    :class:`SLMAuxNet`. ``architecture``, ``architecture_cfg``, ``live_stage``, ``module_index``, ``num_modules``
    and ``later_blocks`` are set by the learner (this strategy needs the last three).

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model,
                     split_points=['layer2.2', 'layer3', 'layer4'],
                     aux_net=dict(type='AugLocAuxNet', max_depth=3, min_depth=1))
    """

    def __init__(self, architecture: nn.Module, live_stage: int, max_depth: int = 3, min_depth: int = 1,
                 train_cfg: Optional[dict] = None, with_cp: bool = False, **kwargs) -> None:
        super().__init__(architecture, live_stage, **kwargs)
        module_index, num_modules = self.module_index, self.num_modules
        if None in (module_index, num_modules, self.later_blocks):
            raise ConfigError('AugLocAuxNet needs module_index, num_modules and later_blocks, which '
                              'LocalLearningDetector sets: build it through the learner (aux_net=dict(...)).')
        if not (isinstance(min_depth, int) and isinstance(max_depth, int) and 1 <= min_depth <= max_depth):
            raise ConfigError(f'aux_net.max_depth={max_depth!r}, min_depth={min_depth!r}: AugLocAuxNet needs integers '
                              'with 1 <= min_depth <= max_depth (blocks sampled for the first and the last '
                              'auxiliary net).')
        backbone = architecture.backbone
        self.check_feature_state('AugLocAuxNet', backbone)
        if not isinstance(backbone, ResNet):
            raise ConfigError(f'aux_net=AugLocAuxNet builds fresh ResNet blocks (ResNet.make_res_layer); '
                              f'{type(backbone).__name__} is not a ResNet. Use SLMAuxNet or DGLAuxNet.')
        self.sampled_blocks = sample_uniformly(self.later_blocks,
                                               augloc_depth(module_index, num_modules, max_depth, min_depth))
        self.depth = len(self.sampled_blocks)
        channels = self.layout.stage_channels(backbone)
        res_layers = list(backbone.res_layers)
        if backbone.zero_init_residual:
            last_norm = 'norm3' if issubclass(backbone.block, Bottleneck) else 'norm2'
            block_init = dict(type='Constant', val=0, override=dict(name=last_norm))
        else:
            block_init = None
        self.block_stages = []
        blocks = []
        stage, inplanes = live_stage, channels[live_stage]
        for name in self.sampled_blocks:
            s = res_layers.index(name.split('.')[0])
            stride = math.prod(backbone.strides[t] for t in range(stage + 1, s + 1))  # skipped downsampling
            layer = backbone.make_res_layer(
                block=backbone.block, inplanes=inplanes, planes=channels[s] // backbone.block.expansion,
                num_blocks=1, stride=stride, dilation=backbone.dilations[s], style=backbone.style,
                avg_down=backbone.avg_down, with_cp=with_cp, conv_cfg=backbone.conv_cfg,
                norm_cfg=_fresh_norm_cfg(backbone), dcn=backbone.dcn if backbone.stage_with_dcn[s] else None,
                plugins=backbone.make_stage_plugins(backbone.plugins, s) if backbone.plugins else None,
                init_cfg=block_init)
            blocks.append(layer[0])
            self.block_stages.append(s)
            stage, inplanes = s, channels[s]
        # mmengine's ModuleList: init_weights() applies the stock ResNet's scratch init to these blocks
        self.blocks = ModuleList(blocks, init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ])
        self.build_neck_and_heads(architecture, train_cfg, fresh=True)

    def forward_stages(self, state, feats: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        feats = {s: f for s, f in feats.items() if s <= self.live_stage}
        x = state
        for s, block in zip(self.block_stages, self.blocks):
            x = block(x)
            feats[s] = x  # the last output per stage is that stage's feature
        return feats


__all__ = ['AugLocAuxNet', 'DGLAuxNet']
