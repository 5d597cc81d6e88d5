"""The contract of an auxiliary net, and its *mirrors*: copies of main-model parts it runs.

An SLM auxiliary net runs "later blocks + neck + heads" of the model. Those parts are mirrors: modules with the
architecture of a main-model part (a copy made at construction), declared with :meth:`AuxNet.mirror` as
``(path in the aux net, path in the architecture)`` pairs. Where their weights come from is the registered
``weight_source`` strategy (:mod:`fba_mm.core.weight_sources`: ``'copy'``, ``'tied'``, ``'ema'``).
"""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule

from .weight_sources import WeightSource, build_weight_source


class AuxNet(BaseModule):
    """Base of the auxiliary nets that train one local module.

    A learner builds one per local module k < K, calls it inside module k's forward, and, around module k's
    forward *and* backward, enters :meth:`bound_to` (tied weights need to be in place while non-reentrant
    checkpointing recomputes). After pretrained weights load it calls :meth:`init_from_architecture`; after
    every optimizer step :meth:`update_from_architecture`; before every step :meth:`follow_settings`. Strategies
    that mirror main-model parts (SLM) call :meth:`mirror` at the end of their constructor; strategies with fresh
    layers (DGL, AugLocal) do not, and every call is then a no-op.

    Example (a task's SLM)::

        self.blocks = nn.ModuleList([copy.deepcopy(layer3[0])])
        self.mirror([('blocks.0', 'backbone.layer3.0')], weight_source='tied')
    """

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self._mirrors: List[Tuple[str, str]] = []
        self._param_mirrors: List[Tuple[str, str]] = []  # bare parameters (a DETR's level_embed)
        self.weights: WeightSource = build_weight_source('copy')
        self._bound = False
        # settings the mirrors follow: (path here, source path, keys); resolved to module pairs on the first step
        self._followed: List[Tuple[str, str, Tuple[str, ...]]] = []
        self._follow_pairs: Optional[List[Tuple[nn.Module, nn.Module, Tuple[str, ...]]]] = None

    @property
    def weight_source(self) -> str:
        return self.weights.name

    # ------------------------------------------------------------------ declaring mirrors
    def mirror(self, pairs: Sequence[Tuple[str, str]], weight_source: Union[str, dict] = 'copy',
               ema_momentum: float = 0.995, architecture: Optional[nn.Module] = None) -> None:
        """Declare ``pairs`` of (path in this aux net, path in the architecture) as mirrors of main parts with
        the same structure (modules, or bare parameters), and apply ``weight_source`` to them. With
        ``architecture``, the mirrors follow the settings the main parts change later (:meth:`follow_settings`);
        where they differ now, they keep theirs."""
        self.weights = build_weight_source(weight_source, ema_momentum)
        self._mirrors = [(p, s) for p, s in pairs if not _is_parameter(self, p)]
        self._param_mirrors = [(p, s) for p, s in pairs if _is_parameter(self, p)]
        if architecture is not None:
            self._record_followed_settings(architecture)
        self.weights.build(self)

    def init_weights(self) -> None:
        """Mirrors take their weights from the architecture (:meth:`init_from_architecture`) and fresh copies were
        initialised when made (:func:`fresh_copy`); what the strategy built anew (DGL's convs, AugLocal's blocks)
        is initialised here, by its own ``init_weights`` (its ``init_cfg``)."""
        done = {id(self.get_submodule(path)) for path, _ in self._mirrors}
        _init_new_layers(self, done)
        self._is_init = True

    def mirror_pairs(self) -> List[Tuple[str, str]]:
        """(path here, path in the architecture) of every mirrored module."""
        return list(self._mirrors)

    def parameter_mirror_pairs(self) -> List[Tuple[str, str]]:
        """(path here, path in the architecture) of every mirrored bare parameter."""
        return list(self._param_mirrors)

    def _record_followed_settings(self, architecture: nn.Module) -> None:
        """The plain settings of each mirrored module that equal its main module's now: those it follows. Where the
        two differ at declaration (rescaled RoI levels, ``with_cp``) the setting is the auxiliary net's own."""
        for path, source in self._mirrors:
            for rel, main in architecture.get_submodule(source).named_modules():
                at = f'{path}.{rel}' if rel else path
                mine = _settings(self.get_submodule(at))
                keys = tuple(k for k, v in _settings(main).items() if k in mine and mine[k] == v)
                if keys:
                    self._followed.append((at, f'{source}.{rel}' if rel else source, keys))

    # ------------------------------------------------------------------ the learner's calls
    def follow_settings(self, architecture: nn.Module) -> None:
        """Mirrors take the recorded plain settings (bool, int, float, str attributes) that changed on the main
        parts: what a runner hook switches on a head during training (YOLOX's ``use_l1``, set by
        ``YOLOXModeSwitchHook``) reaches the auxiliary heads that copy it. The module pairs are resolved on the
        first call, inside the first training step, after mmengine's ``wrap_model`` (which may replace layers)."""
        if self._follow_pairs is None:
            self._follow_pairs = [(self.get_submodule(at), architecture.get_submodule(source), keys)
                                  for at, source, keys in self._followed]
        for mine, main, keys in self._follow_pairs:
            for key in keys:
                value = getattr(main, key)
                if getattr(mine, key) != value:
                    setattr(mine, key, value)

    def init_from_architecture(self, architecture: nn.Module) -> None:
        """Copies and EMA copies take the main weights (tied mirrors have none to take)."""
        self.weights.init_from(self, architecture)

    def update_from_architecture(self, architecture: nn.Module) -> None:
        """EMA copies move towards the main weights."""
        self.weights.update_from(self, architecture)

    def bound_to(self, architecture: nn.Module):
        """Context in which tied mirrors hold the main parts' detached parameters and a copy of their buffers."""
        return self.weights.bound(self, architecture)


def fresh_copy(module: nn.Module) -> nn.Module:
    """A copy with the architecture of ``module`` and new weights, initialised as it initialises itself from
    scratch: every layer's ``reset_parameters``, then the ``init_weights`` (``init_cfg``) of each topmost submodule
    that has one. A :func:`~fba_mm.core.layout.partial_copy` lacks modules its own ``init_weights`` may touch, so
    its children are initialised instead. Example (a strategy's fresh heads)::

        self.tail = fresh_copy(partial_copy(generator, layout.tail))
    """
    module = copy.deepcopy(module)
    for m in module.modules():
        if callable(getattr(m, 'reset_parameters', None)):
            m.reset_parameters()
        if isinstance(m, BaseModule):
            m._is_init = False  # a copy of an initialised module would skip its init_cfg
    _init_topmost(module)
    module._fba_fresh = True  # AuxNet.init_weights leaves it as it is
    return module


def _init_topmost(module: nn.Module) -> None:
    if callable(getattr(module, 'init_weights', None)) and not getattr(module, '_fba_partial', False):
        module.init_weights()
    else:
        for child in module.children():
            _init_topmost(child)


def _init_new_layers(module: nn.Module, done: set) -> None:
    for child in module.children():
        if id(child) in done or getattr(child, '_fba_fresh', False):
            continue
        if getattr(child, '_fba_partial', False) or \
                any(id(m) in done or getattr(m, '_fba_fresh', False) for m in child.modules()):
            _init_new_layers(child, done)  # a partial copy's own init_weights may touch modules it lacks
        elif callable(getattr(child, 'init_weights', None)):
            child.init_weights()


def _is_parameter(module: nn.Module, path: str) -> bool:
    parent, _, name = path.rpartition('.')
    return name in module.get_submodule(parent)._parameters


def _settings(module: nn.Module) -> dict:
    return {k: v for k, v in module.__dict__.items()
            if type(v) in (bool, int, float, str) and not k.startswith('_') and k != 'training'}

