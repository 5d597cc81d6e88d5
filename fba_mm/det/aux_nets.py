"""Auxiliary nets that train a detector's local modules."""
import contextlib
import copy
import math
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from fba_mm.core import ConfigError, find_layout, fresh_copy, partial_copy
from fba_mm.core.aux_net import AuxNet
from fba_mm.core.functional import scale_losses

from .crop import crop_sample, random_window, stride_of
from .feature_bank_neck import FeatureBankNeck
from .from_features import loss_from_features, predict_from_features
from .head_copy import head_only_copy
from .layouts import BackboneLayout, stage_features
from .pyramid_levels import check_first_level, drop_finest_priors, finest_levels_left_out, own_levels_start
from .rescale import rescale_priors, rescale_sample


class DetAuxNet(AuxNet):
    """Base of the auxiliary nets that train one local module of a :class:`LocalLearningDetector`.

    A strategy decides which stage features the aux net computes from module k's output state
    (:meth:`forward_stages`); this base holds what every strategy shares: a :class:`FeatureBankNeck` over a
    copy of the detector's neck, copies of the detector's heads with their losses, and the knobs ``train_cfg``,
    ``crop``, ``scale``, ``first_level`` and ``loss_weight`` (see :class:`SLMAuxNet`). Copies of backbone parts
    (``self.trunk``) mimic the backbone, so their BN follows the backbone's ``norm_eval``; fresh layers (DGL's
    convs, AugLocal's blocks) always normalise with batch statistics in training, as layers trained from scratch
    must.

    The learner builds one per module k < K-1 and sets ``architecture``, ``layout`` (the backbone's),
    ``architecture_cfg``, ``live_stage`` (stage index of module k's last block), ``module_index`` (k),
    ``num_modules`` (K), ``later_blocks`` (the backbone blocks after module k, e.g. ``['layer3.0', ...]``) and
    ``cuts_encoder`` (the learner cuts a DETR's encoder layers, :mod:`fba_mm.det.detr`).
    """

    #: True: the strategy sees the live feature alone (bank and completed earlier stages are dropped)
    live_only = False
    #: the strategy can train a module that ends inside a DETR's encoder (whose output is tokens, not a map)
    trains_encoder_layers = False

    def __init__(self, architecture: nn.Module, live_stage: int, architecture_cfg: Optional[dict] = None,
                 module_index: Optional[int] = None, num_modules: Optional[int] = None,
                 later_blocks: Optional[Sequence[str]] = None, layout: Optional[BackboneLayout] = None,
                 crop: float = 1.0, scale: float = 1.0, scale_priors: bool = True, first_level: Union[int, str] = 0,
                 first_stage: Optional[int] = None, loss_weight: float = 1.0, cuts_encoder: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        backbone = architecture.backbone
        self.layout = layout or find_layout(backbone, what='backbone', kind=BackboneLayout)
        self.architecture_cfg = architecture_cfg
        pool = round(1 / scale)
        if scale > 1 or abs(pool * scale - 1) > 1e-6 or pool & (pool - 1):
            raise ConfigError(f'aux_net.scale={scale}: use 1, 0.5, 0.25, ... (the features are average-pooled by '
                              '1/scale)')
        self.scale, self._pool, self.scale_priors = scale, pool, scale_priors
        if not 0 < crop <= 1:
            raise ConfigError(f'aux_net.crop={crop}: the side of the auxiliary net\'s window as a fraction of the '
                              'image, 0 < crop <= 1 (1: the whole image)')
        if crop < 1 and scale < 1:
            raise ConfigError(f'aux_net.crop={crop} with aux_net.scale={scale}: each cuts the auxiliary net\'s '
                              'compute on its own; use one of them.')
        self.crop = crop
        self.first_level, self.first_stage = first_level, first_stage
        self.live_stage = live_stage
        self.loss_weight = loss_weight
        self.module_index, self.num_modules = module_index, num_modules
        stage_of = self.layout.stage_index(backbone)
        # the backbone's blocks after module k (a DETR's cut encoder layers are not the backbone's)
        self.later_blocks = None if later_blocks is None else [b for b in later_blocks if b in stage_of]
        # module k ended at its stage's last block (so the learner ran the stage's exit), or inside the stage
        self.stage_done = not self.later_blocks or stage_of[self.later_blocks[0]] != live_stage
        self.norm_eval = getattr(backbone, 'norm_eval', False)
        # module k ends in a DETR's cut encoder (or at the backbone's end, where the way into the encoder runs): its
        # output is the encoder's state (fba_mm.det.detr), from which the detector's pre_decoder, decoder and head run
        self.cuts_encoder = cuts_encoder
        self.in_encoder = cuts_encoder and live_stage == len(self.layout.stages(backbone))
        if self.in_encoder and not self.trains_encoder_layers:
            raise ConfigError(f'aux_net={type(self).__name__} cannot train module {module_index}, which ends in the '
                              "transformer's encoder: its output is tokens. Use aux_net=dict(type='SLMAuxNet'), or "
                              'end every module but the last inside the backbone.')
        if self.in_encoder and crop < 1:
            raise ConfigError(f'aux_net.crop={crop}: module {module_index} ends in the transformer\'s encoder, whose '
                              'tokens mix the whole image; use crop=1.')
        # the stride of the net's coarsest stage relative to the live state's: a window on that grid keeps every
        # stage aligned with the image
        self._strides_after = math.prod(self.layout.stage_strides(backbone)[live_stage + 1:])
        if self.in_encoder and scale != 1:
            raise ConfigError(f'aux_net.scale={scale}: module {module_index} ends in the transformer\'s encoder, whose '
                              'tokens cannot be pooled; use scale=1.')

    def build_neck_and_heads(self, architecture: nn.Module, train_cfg: Optional[dict], fresh: bool = False,
                             encoder_layers: Optional[int] = None) -> None:
        """Copy the neck (behind a :class:`FeatureBankNeck`; none for a module that ends in the encoder) and the
        heads; ``fresh``: with new weights (:func:`~fba_mm.core.fresh_copy`); ``encoder_layers``: where the learner
        cuts a DETR's encoder, how many of its first layers the copy keeps. Subclasses call this after building their
        own layers (the registration order is the parameter order, which optimizer checkpoints rely on)."""
        backbone, layout = architecture.backbone, self.layout
        neck = copy.deepcopy(architecture.neck) if getattr(architecture, 'neck', None) is not None else None
        self.neck = None if self.in_encoder else FeatureBankNeck(
            neck, layout.out_indices(backbone), layout.stage_channels(backbone), layout.stage_strides(backbone))
        self.detector = head_only_copy(architecture, self.architecture_cfg, train_cfg)
        if self.cuts_encoder:
            keep = 0 if self.in_encoder else len(self.detector.encoder.layers) if encoder_layers is None \
                else encoder_layers
            self.detector.encoder.layers = self.detector.encoder.layers[:keep]
            if self.in_encoder:  # the way into the encoder (level_embed) ran before module k's output
                for name in list(self.detector._parameters):
                    self.detector._parameters[name] = None
        if fresh:
            self.neck, self.detector = fresh_copy(self.neck), fresh_copy(self.detector)
        if self.scale < 1 and self.scale_priors:
            rescale_priors(self.detector, self.scale)
        if self.first_level == 'own':
            self.first_level = own_levels_start(None if self.neck is None else self.neck.neck, self.first_stage)
        if self.first_level:
            check_first_level(None if self.neck is None else self.neck.neck, self.detector, self.first_level)
            drop_finest_priors(self.detector, self.first_level)

    def levels(self):
        """Context in which the neck and heads run from pyramid level ``first_level`` on
        (:mod:`fba_mm.det.pyramid_levels`)."""
        if not self.first_level:
            return contextlib.nullcontext()
        return finest_levels_left_out(self.neck.neck, self.detector, self.first_level)

    def check_feature_state(self, strategy: str, backbone: nn.Module) -> None:
        if not self.layout.state_is_feature:
            raise ConfigError(
                f'aux_net={strategy} builds conv layers on the live feature map, but {type(backbone).__name__}\'s '
                f'blocks pass {type(self.layout).__name__} states (tokens), not feature maps. Use '
                "aux_net=dict(type='SLMAuxNet') (use_bank=False for the no-bank ablation).")

    def forward_stages(self, state, feats: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        """The stage features the neck gets, from module k's output ``state`` and the stage features at hand
        (rescaled); a stage left out is fed zeros."""
        raise NotImplementedError

    def neck_features(self, state, stage_feats: Dict[int, torch.Tensor], data_samples, bank=None,
                      window: bool = False):
        """(the neck's output, the data samples at this net's resolution) from module k's output ``state``.
        ``bank``: the learner's feature bank, where what several aux nets derive alike (earlier modules' features
        pooled, the rescaled targets) is computed once per iteration. ``window``: on a random window of ``crop``
        of the image (the loss; predictions see the whole image)."""
        feats = {} if self.live_only else dict(stage_feats)
        if window and self.crop < 1:
            state, feats, data_samples = self._cropped(state, feats, data_samples)
        if self._pool > 1:
            once = bank.derived if bank is not None else (lambda key, make: make())
            state = self.layout.pool_state(state, self._pool)
            feats = {s: once(('pooled', id(f), self._pool), lambda f=f: self._pooled(f)) if not f.requires_grad
                     else self._pooled(f) for s, f in feats.items()}
            data_samples = once(('samples', id(data_samples), self.scale),
                                lambda: [rescale_sample(sample, self.scale) for sample in data_samples])
        if self.layout.state_is_feature:
            feats[self.live_stage] = state  # the live feature is (a partial) stage live_stage
        return self.neck(self.forward_stages(state, feats)), data_samples

    def _cropped(self, state, feats: Dict[int, torch.Tensor], data_samples):
        """One random window (:mod:`fba_mm.det.crop`) of the live state, the bank's stages and the targets."""
        input_height = data_samples[0].metainfo['batch_input_shape'][0]
        live_stride = stride_of(self.layout.state_size(state)[0], input_height)
        window = random_window(data_samples, self.crop, live_stride * self._strides_after)
        cut = lambda x: window.of(x, input_height)  # noqa: E731
        return (self.layout.crop_state(state, cut), {s: cut(f) for s, f in feats.items()},
                [crop_sample(sample, window) for sample in data_samples])

    def _pooled(self, feature: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(feature, self._pool, ceil_mode=True)

    def head_inputs(self, state, stage_feats: Dict[int, torch.Tensor], data_samples, bank=None,
                    window: bool = False):
        """What the heads run from: (neck features, encoder state, data samples at this net's resolution); a module
        that ends in a DETR's encoder hands its state on as it is."""
        if self.in_encoder:
            return None, state, data_samples
        feats, data_samples = self.neck_features(state, stage_feats, data_samples, bank, window)
        return feats, None, data_samples

    def predict(self, state, stage_feats: Dict[int, torch.Tensor], data_samples, bank=None) -> list:
        """The detections of this net's heads (boxes in the original image's coordinates): what its loss trains."""
        with self.levels():
            feats, encoder_state, scaled = self.head_inputs(state, stage_feats, data_samples, bank)
            return predict_from_features(self.detector, feats, scaled, encoder_state=encoder_state)

    def forward(self, state, stage_feats: Dict[int, torch.Tensor], data_samples, bank=None) -> Dict:
        with self.levels():
            feats, encoder_state, data_samples = self.head_inputs(state, stage_feats, data_samples, bank, window=True)
            losses = loss_from_features(self.detector, feats, data_samples, encoder_state=encoder_state)
        return scale_losses(losses, self.loss_weight)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval and hasattr(self, 'trunk'):  # copies, as the stock backbone: BN frozen
            for m in self.trunk.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


@MODELS.register_module()
class SLMAuxNet(DetAuxNet):
    """The Simple Local Module (SLM) of FBA for detectors: the auxiliary net of one local module.

    For a local module whose output is (a partial) stage ``s`` of the backbone:

    1. aligned copies of later backbone blocks: the first ``depth`` blocks of every stage after ``s`` (the
       first block carries the stride and channel change), run on the live state (``trunk``, a partial copy of the
       backbone holding them at their own paths);
    2. a :class:`FeatureBankNeck`: a copy of the detector's neck fed with the feature bank's earlier stages,
       the live feature as stage ``s`` and the copies' outputs as the later stages;
    3. copies of the detector's own heads with their own losses (RPN + RoI head, or the dense head).

    Where the weights of these parts come from is ``weight_source`` (see :mod:`fba_mm.core.aux_net`):
    ``'copy'``, copies that start from the main model's weights (``init_from_architecture``, after pretrained
    weights load) and are then trained by this local loss only; ``'tied'``, the main model's own blocks, neck
    and heads, run with their parameters detached (no copies, no optimizer state); ``'ema'``, frozen copies
    that follow the main weights by a moving average (``ema_momentum``). With the learner's ``use_bank=False``
    the neck gets zeros for the earlier stages (the "slm_nobank" ablation).

    Knobs (the auxiliary heads dominate local learning's peak memory):

    - ``depth``: blocks copied per later stage (1 = the first block of each).
    - ``train_cfg``: overrides of the detector's ``train_cfg`` for the auxiliary heads only, e.g. fewer
      sampled RoIs and proposals: ``dict(rpn_proposal=dict(max_per_img=300), rcnn=dict(sampler=dict(num=128)))``.
      Where the detector's entry is a list of stage dicts (Cascade R-CNN's ``rcnn``), a dict applies to every
      stage and a list of as many dicts stage by stage.
    - ``crop``: train the auxiliary net on a random window, ``crop`` of the image's height and width, cut from the
      live feature, the bank's stages and the targets alike (:mod:`fba_mm.det.crop`; boxes clipped as mmdet's
      ``RandomCrop`` clips them). It runs at full resolution, so every object is handled at its own pyramid level
      by the head weights that handle it in the whole image, and its compute shrinks with the window's area
      (0.5: about fourfold). Not for a module that ends in a DETR's encoder.
    - ``scale``: run the auxiliary net at a lower resolution (0.5: every input feature average-pooled by 2 and
      the targets rescaled to match), which cuts its memory and compute about fourfold. ``scale_priors`` (default
      True) rescales the heads' anchors and RoI level thresholds with it, so that every object is handled at the
      pyramid level, and by the head weights, that handle it at full resolution (without it, tied half-resolution
      heads give module k a gradient further from end-to-end's: docs/benchmarks.md, "The front", why tied weights at
      half resolution lose).
    - ``first_level``: the auxiliary neck and heads leave out the ``first_level`` finest pyramid levels
      (:mod:`fba_mm.det.pyramid_levels`): at 1, Faster R-CNN's auxiliary nets never compute P2, where the FPN
      output conv and the RPN conv cost most, and send the RoIs that went there to P3; every other object keeps its
      level. Needs an FPN neck. ``'own'``: each auxiliary net leaves out the levels fed only by stages before its
      module (the bank's detached features), and keeps those its module's own blocks compute.
    - ``with_cp``: activation checkpointing in the copied blocks.
    - ``loss_weight``: scales the local loss.
    - ``weight_source`` (``'copy'``, ``'tied'``, ``'ema'``) and ``ema_momentum``: see above. ``'tied'`` adds no
      parameters, gradients or optimizer state, which for detection outweighs the activations saved.

    On a backbone whose stages end in an exit (Swin's output norm and patch merging) the copies include the
    exits on the way: the live stage's if module k ended inside it, and every later stage's.

    Where the learner cuts a DETR's encoder (Deformable DETR, DINO; :mod:`fba_mm.det.detr`), the encoder is the last
    stage: after a module that ends in the backbone the auxiliary net runs the encoder's first ``depth`` layers (not
    all six), then the decoder and head; a module that ends in the encoder hands its tokens to the decoder and head.

    ``architecture``, ``live_stage`` and the rest of :class:`DetAuxNet`'s arguments are set by the learner.

    Example::

        model = dict(type='LocalLearningDetector', architecture=_base_.model, split_points=['layer3', 'layer4'],
                     aux_net=dict(type='SLMAuxNet', depth=1, weight_source='tied',
                                  train_cfg=dict(rcnn=dict(sampler=dict(num=128)))))
    """

    trains_encoder_layers = True

    def __init__(self, architecture: nn.Module, live_stage: int, depth: int = 1, train_cfg: Optional[dict] = None,
                 with_cp: bool = False, weight_source: str = 'copy', ema_momentum: float = 0.995, **kwargs) -> None:
        super().__init__(architecture, live_stage, **kwargs)
        if depth < 1:
            raise ConfigError(f'aux_net.depth={depth}: SLMAuxNet copies at least the first block of every later stage '
                              '(it carries the stride and channel change the neck expects); use depth >= 1.')
        backbone, layout = architecture.backbone, self.layout
        stages = list(layout.stages(backbone).values())
        # the live stage's exit if module k ended inside it, then per later stage its first blocks and its exit
        paths = [] if self.stage_done or self.in_encoder else layout.exit_parts(backbone, live_stage)
        self.later_stages = []
        for t in range(live_stage + 1, len(stages)):
            self.later_stages.append((t, stages[t][:depth]))
            # each block with what it trains (a CSP layer's first block: its short branch too)
            paths += [p for b in stages[t][:depth] for p in layout.block_parts(backbone, b)]
            paths += layout.exit_parts(backbone, t)
        paths = list(dict.fromkeys(paths))
        self.trunk = partial_copy(backbone, paths)
        for t, names in self.later_stages:
            for name in names:
                block = self.trunk.get_submodule(name)
                if hasattr(block, 'with_cp'):
                    block.with_cp = with_cp
        # a cut encoder is the last stage: its first depth layers, or none after a module that ends in it
        self.build_neck_and_heads(architecture, train_cfg, encoder_layers=depth)
        sources = [(f'trunk.{p}', f'backbone.{p}') for p in paths]  # (path here, path in the architecture)
        if self.neck is not None and self.neck.neck is not None:
            sources.append(('neck.neck', 'neck'))
        cut = ('encoder', ) if self.cuts_encoder else ()  # the layers it keeps, one by one
        sources += [(f'detector.{name}', name) for name, child in self.detector.named_children()
                    if child is not None and name not in ('backbone', 'neck', 'data_preprocessor', *cut)]
        if cut:
            sources += [(f'detector.encoder.layers.{i}', f'encoder.layers.{i}')
                        for i in range(len(self.detector.encoder.layers))]
        sources += [(f'detector.{name}', name) for name, _ in self.detector.named_parameters(recurse=False)]
        self.mirror(sources, weight_source, ema_momentum, architecture)

    def forward_stages(self, state, feats):
        layout, trunk = self.layout, self.trunk
        if not self.stage_done:
            state, items = layout.exit_stage(trunk, self.live_stage, state)
            feats.update(stage_features(items))
        for t, names in self.later_stages:
            for name in names:
                state = layout.run_block_at(trunk, name, state)
            state, items = layout.exit_stage(trunk, t, state)
            feats.update(stage_features(items))
        return feats
