"""Auxiliary nets that train an SR generator's local modules."""
import copy
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmagic.registry import MODELS

from fba_mm.core import ConfigError, find_layout, fresh_copy, partial_copy
from fba_mm.core.aux_net import AuxNet
from fba_mm.core.aux_rules import augloc_depth, sample_uniformly
from fba_mm.core.functional import maybe_checkpoint, scale_losses

from .layouts import SRLayout


class SRAuxNet(AuxNet):
    """Base of the auxiliary nets that train one local module of a :class:`LocalLearningEditor`: what every strategy
    ends with, a copy of the generator's tail (``fresh``: with new weights) and the editor's pixel loss, scaled by
    ``loss_weight``, on a random window of ``crop`` of the patch (1: the whole patch). A strategy builds what runs
    before the tail and says how its SR image is made (:meth:`predict`)::

        @MODELS.register_module()
        class TailOnlyAuxNet(SRAuxNet):  # the tail right on module k's live feature
            def __init__(self, architecture, later_blocks, layout=None, module_index=0, num_modules=2):
                super().__init__(architecture, layout, loss_weight=1.0, fresh=True)

            def predict(self, feat, features):
                return self.tail_output(feat, features)

    For a tail that fuses every body block's output (RDN, ``layout.bank_carries_blocks``) it gets them all: the
    ones the learner hands over (the bank's, of earlier modules; the live ones of module k), those of the
    auxiliary net's own blocks in the slots of the blocks they stand for, and zeros for every other block (the
    blocks it does not run, and the bank's with ``use_bank=False``). Zeros, as for the skip without a bank: a
    missing block then adds nothing to the fusion, where a repeated feature would stand in for a block at
    another depth.
    """

    def __init__(self, architecture: nn.Module, layout: Optional[SRLayout], loss_weight: float, fresh: bool,
                 crop: float = 1.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0 < crop <= 1:
            raise ConfigError(f'aux_net.crop={crop}: the side of the auxiliary net\'s crop as a fraction of the '
                              'patch, 0 < crop <= 1 (1: the whole patch)')
        self.crop = crop
        g = architecture.generator
        self.layout = layout if layout is not None else find_layout(g, what='generator', kind=SRLayout)
        self.all_blocks = self.layout.blocks(g)
        tail = partial_copy(g, self.layout.tail)
        self.tail = fresh_copy(tail) if fresh else tail
        self.pixel_loss = copy.deepcopy(architecture.pixel_loss)
        self.loss_weight = loss_weight

    def run_trunk(self, names: Sequence[str], feat, with_cp: bool) -> Tuple[object, Dict[str, torch.Tensor]]:
        """This net's copied blocks (``self.trunk``, at their own paths) on the live state: (their output, their
        outputs by block name when the tail fuses them)."""
        own: Dict[str, torch.Tensor] = {}
        return self.layout.run_blocks(self.trunk, names, feat, own, with_cp), own

    def forward(self, feat, features: Dict[str, torch.Tensor], data_samples) -> dict:
        target = data_samples.gt_img
        if self.crop < 1:
            feat, features, target = self.random_crop(feat, features, target)
        return scale_losses(dict(loss=self.pixel_loss(self.predict(feat, features), target)), self.loss_weight)

    def random_crop(self, feat, features: Dict[str, torch.Tensor], target: torch.Tensor):
        """The same random window of the live feature, of every bank feature of its size and (``scale`` times
        larger) of the HR target, ``crop`` of their height and width: the auxiliary net's compute shrinks with its
        area. Its convs pad the window's border with zeros where the whole patch has neighbours; the window moves
        every iteration, so every position of the patch is trained."""
        h, w = self.layout.state_size(feat)
        unit = self.layout.crop_unit
        ch, cw = (min(n, max(unit, round(n * self.crop / unit) * unit)) for n in (h, w))
        # on the unit's grid: a SwinIR window holds the patch's own attention windows
        top, left = (unit * int(torch.randint(0, (n - c) // unit + 1, ())) for n, c in ((h, ch), (w, cw)))
        scale = target.shape[-2] // h

        def window(x, s=1):
            return x[..., top * s:(top + ch) * s, left * s:(left + cw) * s]
        features = {k: window(v) if isinstance(v, torch.Tensor) and v.shape[-2:] == (h, w) else v
                    for k, v in features.items()}
        return self.layout.crop_state(feat, top, left, ch, cw), features, window(target, scale)

    def predict(self, feat, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The SR image this auxiliary net's loss scores."""
        raise NotImplementedError

    def tail_output(self, feat, features: Dict[str, torch.Tensor],
                    own: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        skip = features.get('skip')
        if skip is None:
            skip = self.layout.zero_skip(self.tail, feat)
        fused = None
        if self.layout.bank_carries_blocks:
            own, zero, fused = own or {}, None, []
            for name in self.all_blocks:  # one zero tensor for every missing block (the concatenation copies)
                output = own.get(name, features.get(name))
                if output is None:
                    zero = self.layout.zero_block_output(self.tail, feat) if zero is None else zero
                    output = zero
                fused.append(output)
        return self.layout.forward_tail(self.tail, feat, skip, fused)


@MODELS.register_module(name='SLMAuxNet')
class SRSLMAuxNet(SRAuxNet):
    """The Simple Local Module (SLM) of FBA for SR generators (registered in mmagic as ``SLMAuxNet``).

    For a local module that ends at body block ``i``:

    1. aligned copies of the next ``depth`` body blocks (``body.i+1`` ... ``body.i+depth``; fewer near the end);
    2. a copy of the generator's tail (EDSR/RCAN: ``conv_after_body``, upsampler, ``conv_last``; MSRResNet: the
       upsamplers, ``conv_hr``, ``conv_last``; the tail of the layout in general, :mod:`fba_mm.sr.layouts`) with
       its global skip fed from the feature bank (the shallow feature, or the LR input). RDN's tail fuses every
       block's output: it gets the bank's outputs of earlier modules' blocks, module k's live ones, its copies'
       outputs in the slots of the blocks they copy, and zeros for the blocks it does not run;
    3. the editor's own pixel loss against the HR image.

    Where the weights of the copied blocks and tail come from is ``weight_source`` (see
    :mod:`fba_mm.core.aux_net`): ``'copy'``, copies that start from the main weights (``init_from_architecture``,
    after pretrained weights load) and are then trained by this local loss only; ``'tied'``, the generator's own
    blocks and tail run with their parameters detached; ``'ema'``, frozen copies that follow the main weights by
    a moving average. Example::

        model = dict(type='LocalLearningEditor', architecture=_base_.model, split_points=['body.8'],
                     aux_net=dict(type='SLMAuxNet', depth=1, weight_source='copy'))

    Args:
        architecture (nn.Module): the stock editor (set by the learner).
        later_blocks (list[str]): names of the body blocks after the module (set by the learner).
        layout (SRLayout): the generator's layout (set by the learner; found from the generator when None).
        module_index (int), num_modules (int): k and K (set by the learner for every auxiliary net; not used by
            SLM, whose net depends only on the blocks after the module).
        depth (int): body blocks copied (0: the tail copy alone).
        with_cp (bool): activation checkpointing in the copied blocks.
        loss_weight (float): scales the local loss.
        weight_source (str): ``'copy'``, ``'tied'`` or ``'ema'``.
        ema_momentum (float): of the ``'ema'`` copies.
        crop (float): the auxiliary net trains on a random window of ``crop`` times the patch's height and width
            (the same window of the HR target), which cuts its compute by ``crop**2`` (1: the whole patch). On
            SwinIR the window's sides and corner are multiples of ``window_size``.
    """

    def __init__(self, architecture: nn.Module, later_blocks: Sequence[str], layout: Optional[SRLayout] = None,
                 module_index: int = 0, num_modules: int = 2, depth: int = 1, with_cp: bool = False,
                 loss_weight: float = 1.0, weight_source: str = 'copy', ema_momentum: float = 0.995,
                 crop: float = 1.0, init_cfg=None) -> None:
        if depth < 0:
            raise ConfigError(f'aux_net.depth={depth}: the number of copied body blocks must be >= 0')
        super().__init__(architecture, layout, loss_weight, fresh=False, crop=crop, init_cfg=init_cfg)
        self.copied_blocks = list(later_blocks[:depth])
        self.trunk = partial_copy(architecture.generator, self.copied_blocks)
        self.with_cp = with_cp
        self.mirror([(f'trunk.{name}', f'generator.{name}') for name in self.copied_blocks] +
                    [(f'tail.{name}', f'generator.{name}') for name in self.layout.tail], weight_source, ema_momentum,
                    architecture)

    def predict(self, feat, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        feat, own = self.run_trunk(self.copied_blocks, feat, self.with_cp)
        return self.tail_output(feat, features, own)


@MODELS.register_module(name='DGLAuxNet')
class SRDGLAuxNet(SRAuxNet):
    """DGL's auxiliary net (Belilovsky et al., 2020) for SR generators (registered in mmagic as ``DGLAuxNet``).

    ``num_convs`` fresh 3x3 conv + ReLU layers on the live feature alone, then a fresh copy of the generator's
    tail and the pixel loss. "Alone": no copied blocks, no feature bank; the global skip is zeros even where
    one is at hand. ``with_cp``: activation checkpointing of the convs. On SwinIR the convs run on the tokens laid
    out as an image. RDN is refused: its tail fuses every block's output, which the live feature alone is not.
    ``architecture`` and ``layout`` are set by the learner, and so are ``later_blocks``, ``module_index`` and
    ``num_modules``, which DGL does not use (its net is the same for every module). Example::

        model = dict(type='LocalLearningEditor', architecture=_base_.model, split_points=4, use_bank=False,
                     aux_net=dict(type='DGLAuxNet', num_convs=2))
    """

    def __init__(self, architecture: nn.Module, later_blocks: Sequence[str] = (), layout: Optional[SRLayout] = None,
                 module_index: int = 0, num_modules: int = 2, num_convs: int = 2, with_cp: bool = False,
                 loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(architecture, layout, loss_weight, fresh=True, init_cfg=init_cfg)
        self.with_cp = with_cp
        if num_convs < 0:
            raise ConfigError(f'aux_net.num_convs={num_convs}: must be >= 0')
        if self.layout.bank_carries_blocks:
            raise ConfigError(
                f'aux_net=DGLAuxNet does not apply to {type(architecture.generator).__name__}: DGL trains a module on '
                'its live feature alone, but this tail fuses the output of every body block. Use '
                "aux_net=dict(type='SLMAuxNet') (use_bank=False for the no-bank ablation) or AugLocAuxNet.")
        channels = self.layout.feature_channels(architecture.generator)
        layers = []
        for _ in range(num_convs):
            layers += [nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)

    def predict(self, feat, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        return self.tail_output(self.layout.map_feature(feat, self._convs), {})  # the live feature alone

    def _convs(self, x: torch.Tensor) -> torch.Tensor:
        return maybe_checkpoint(self.convs, x, enabled=self.with_cp)


@MODELS.register_module(name='AugLocAuxNet')
class SRAugLocAuxNet(SRAuxNet):
    """AugLocal's auxiliary net (Ma et al., ICLR 2024) for SR generators (registered in mmagic as
    ``AugLocAuxNet``).

    Fresh blocks (new weights, not copies) with the architecture of body blocks sampled uniformly from the
    blocks after the module; their number shrinks linearly with the module index (``augloc_depth``: from
    ``max_depth`` for module 1 to ``min_depth`` for module K-1); then a fresh copy of the tail and the pixel
    loss. The global skip comes from the learner (zeros with ``use_bank=False``, as AugLocal has no bank); on RDN
    the fresh blocks' outputs go to the fusion in the slots of the blocks they are shaped after (zeros elsewhere,
    as for SLM). ``with_cp``: activation checkpointing of the blocks. ``architecture``, ``layout``,
    ``later_blocks``, ``module_index`` and ``num_modules`` are set by the learner (the depth depends on the last two)::

        model = dict(type='LocalLearningEditor', architecture=_base_.model, split_points=4, use_bank=False,
                     aux_net=dict(type='AugLocAuxNet', max_depth=3))
    """

    def __init__(self, architecture: nn.Module, later_blocks: Sequence[str], layout: Optional[SRLayout] = None,
                 module_index: int = 0, num_modules: int = 2, max_depth: int = 3, min_depth: int = 1,
                 with_cp: bool = False, loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(architecture, layout, loss_weight, fresh=True, init_cfg=init_cfg)
        self.with_cp = with_cp
        depth = augloc_depth(module_index, num_modules, max_depth, min_depth)
        self.sampled_blocks = sample_uniformly(list(later_blocks), depth)
        self.trunk = fresh_copy(partial_copy(architecture.generator, self.sampled_blocks))

    def predict(self, feat, features: Dict[str, torch.Tensor]) -> torch.Tensor:
        feat, own = self.run_trunk(self.sampled_blocks, feat, self.with_cp)
        return self.tail_output(feat, features, own)
