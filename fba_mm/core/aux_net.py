"""The contract of an auxiliary net, and where the weights of its copies of main-model parts come from.

An SLM auxiliary net runs "later blocks + neck + heads" of the model. Those parts are *mirrors*: modules with
the architecture of a main-model part (a copy made at construction), declared with :meth:`AuxNet.mirror` as
``(path in the aux net, path in the architecture)`` pairs. ``weight_source`` decides where their weights come
from; every choice keeps module k's parameters trained by its local loss alone:

``'copy'`` (the original SLM)
    trained copies: initialised from the main weights by :meth:`AuxNet.init_from_architecture` (after
    pretrained weights load) and then trained by the local loss. Parameters, gradients and optimizer state.
``'tied'``
    no weights of its own. While module k trains (forward and backward, see :meth:`AuxNet.bound_to`), each
    mirror holds the main part's parameters *detached* and a private copy of its buffers (BN statistics), so
    the local loss's gradient reaches the live feature, and through it module k, but never the main part, and
    the main part's running statistics are not moved by the auxiliary pass. It always sees the current main
    weights. No parameters, gradients or optimizer state.
``'ema'``
    frozen copies (``requires_grad=False``, so no gradients and no optimizer state) that follow the main
    weights by an exponential moving average after every training step (:meth:`AuxNet.update_from_architecture`,
    ``ema_momentum`` 0.995 as in MAN): ``w <- m * w + (1 - m) * w_main``.
"""
import contextlib
import copy
import itertools
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from .errors import ConfigError

WEIGHT_SOURCES = ('copy', 'tied', 'ema')


def check_weight_source(weight_source: str, ema_momentum: float) -> None:
    if weight_source not in WEIGHT_SOURCES:
        raise ConfigError(f'aux_net.weight_source={weight_source!r}: choose one of {WEIGHT_SOURCES} (copy: trained '
                          'copies of the main parts; tied: the main parts themselves, detached; ema: frozen copies '
                          'that follow the main weights by a moving average)')
    if not 0.0 <= ema_momentum < 1.0:
        raise ConfigError(f'aux_net.ema_momentum={ema_momentum}: need 0 <= ema_momentum < 1 (MAN uses 0.995)')


class AuxNet(BaseModule):
    """Base of the auxiliary nets that train one local module.

    A learner builds one per local module k < K, calls it inside module k's forward, and, around module k's
    forward *and* backward, enters :meth:`bound_to` (tied weights need to be in place while non-reentrant
    checkpointing recomputes). After pretrained weights load it calls :meth:`init_from_architecture`; after
    every training step :meth:`update_from_architecture`. Strategies that mirror main-model parts (SLM) call
    :meth:`mirror` at the end of their constructor; strategies with fresh layers (DGL, AugLocal) do not.

    Example (a task's SLM)::

        self.blocks = nn.ModuleList([copy.deepcopy(layer3[0])])
        self.mirror([('blocks.0', 'backbone.layer3.0')], weight_source='tied')
    """

    weight_source = 'copy'
    ema_momentum = 0.995

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self._mirrors: List[Tuple[str, str]] = []
        self._param_mirrors: List[Tuple[str, str]] = []  # bare parameters (a DETR's level_embed)
        # tied slots: (module path here, 'p'/'b', name, source module's path in the architecture). Paths, not module
        # objects: mmengine's Runner may replace layers after construction (SyncBN <-> BN in wrap_model)
        self._hollow: List[Tuple[str, str, str, str]] = []
        self._own_settings: Optional[Dict[str, set]] = None  # None: settings are not followed

    # ------------------------------------------------------------------ declaring mirrors
    def mirror(self, pairs: Sequence[Tuple[str, str]], weight_source: str = 'copy', ema_momentum: float = 0.995,
               architecture: Optional[nn.Module] = None) -> None:
        """Declare ``pairs`` of (path in this aux net, path in the architecture) as mirrors of main parts with
        the same structure (modules, or bare parameters), and apply ``weight_source`` to them. With
        ``architecture``, the mirrors follow the settings the main parts change later (:meth:`follow_settings`);
        where they differ now, they keep theirs."""
        check_weight_source(weight_source, ema_momentum)
        self.weight_source, self.ema_momentum = weight_source, ema_momentum
        self._mirrors = [(p, s) for p, s in pairs if not _is_parameter(self, p)]
        self._param_mirrors = [(p, s) for p, s in pairs if _is_parameter(self, p)]
        for path, source in self._param_mirrors:
            parent, _, name = path.rpartition('.')
            if weight_source == 'ema':
                self.get_parameter(path).requires_grad_(False)
            elif weight_source == 'tied':
                self.get_submodule(parent)._parameters[name] = None
                self._hollow.append((parent, 'p', name, source.rpartition('.')[0]))
        if architecture is not None:
            self._record_own_settings(architecture)
        if weight_source == 'tied':
            self._bound = False
            self.register_forward_pre_hook(_refuse_unbound)
        for path, source in self._mirrors:
            part = self.get_submodule(path)
            if weight_source == 'ema':
                part.requires_grad_(False)
            elif weight_source == 'tied':
                # empty slots, filled by bound_to(): the copy made at construction is dropped here
                for rel, m in part.named_modules():
                    for kind, store in (('p', m._parameters), ('b', m._buffers)):
                        for name in list(store):
                            if store[name] is not None:
                                store[name] = None
                                self._hollow.append((f'{path}.{rel}' if rel else path, kind, name,
                                                     f'{source}.{rel}' if rel else source))

    def init_weights(self) -> None:
        """Mirrors take their weights from the architecture (:meth:`init_from_architecture`) and fresh copies were
        initialised when made (:func:`fresh_copy`); what the strategy built anew (DGL's convs, AugLocal's blocks)
        is initialised here, by its own ``init_weights`` (its ``init_cfg``)."""
        done = {id(self.get_submodule(path)) for path, _ in self._mirrors}
        _init_new_layers(self, done)
        self._is_init = True

    def mirror_pairs(self) -> List[Tuple[str, str]]:
        return list(self._mirrors)

    def follow_settings(self, architecture: nn.Module) -> None:
        """Mirrors take the plain settings (bool, int, float, str attributes) that changed on the main parts since
        they were mirrored: what a runner hook switches on a head during training (YOLOX's ``use_l1``, set by
        ``YOLOXModeSwitchHook``) reaches the auxiliary heads that copy it. Settings the auxiliary net gave its
        mirrors itself (rescaled RoI levels, ``with_cp``) and the train/eval mode are its own and stay."""
        if self._own_settings is None:
            return
        for at, mine, main in self._mirrored_modules(architecture):
            own = self._own_settings.get(at, ())
            for key, value in _settings(main).items():
                if key not in own and mine.__dict__.get(key, value) != value:
                    setattr(mine, key, value)

    def _record_own_settings(self, architecture: nn.Module) -> None:
        """The settings in which mirrors differ from their main parts when they are declared: their own."""
        self._own_settings = {}
        for at, mine, main in self._mirrored_modules(architecture):
            mine = _settings(mine)
            self._own_settings[at] = {k for k, v in _settings(main).items() if mine.get(k, v) != v}

    def _mirrored_modules(self, architecture: nn.Module) -> Iterator[Tuple[str, nn.Module, nn.Module]]:
        """(path here, module here, the main module it mirrors) for every module inside every mirror."""
        for path, source in self._mirrors:
            for rel, main in architecture.get_submodule(source).named_modules():
                at = f'{path}.{rel}' if rel else path
                yield at, self.get_submodule(at), main

    def _sources(self, architecture: nn.Module) -> Iterator[Tuple[nn.Module, nn.Module]]:
        for path, source in self._mirrors:
            yield self.get_submodule(path), architecture.get_submodule(source)

    # ------------------------------------------------------------------ the learner's calls
    def init_from_architecture(self, architecture: nn.Module) -> None:
        """Copies and EMA copies take the main weights (tied mirrors have none to take)."""
        if self.weight_source == 'tied':
            return
        for part, source in self._sources(architecture):
            part.load_state_dict(source.state_dict())
        with torch.no_grad():
            for path, source in self._param_mirrors:
                self.get_parameter(path).copy_(architecture.get_parameter(source))

    @torch.no_grad()
    def update_from_architecture(self, architecture: nn.Module) -> None:
        """EMA copies move towards the main weights: ``w <- m * w + (1 - m) * w_main`` (integer buffers, e.g.
        BN's batch counter, are copied)."""
        if self.weight_source != 'ema':
            return
        pairs = [(w, w_main) for part, source in self._sources(architecture)
                 for (_, w), (_, w_main) in zip(itertools.chain(part.named_parameters(), part.named_buffers()),
                                                itertools.chain(source.named_parameters(), source.named_buffers()))]
        pairs += [(self.get_parameter(p), architecture.get_parameter(s)) for p, s in self._param_mirrors]
        for w, w_main in pairs:
            if w.is_floating_point():
                w.lerp_(w_main, 1.0 - self.ema_momentum)
            else:
                w.copy_(w_main)

    def bound_to(self, architecture: nn.Module):
        """Context in which tied mirrors hold the main parts' detached parameters and a copy of their buffers."""
        if self.weight_source != 'tied' or not self._hollow:
            return contextlib.nullcontext()
        return self._bind(architecture)

    @contextlib.contextmanager
    def _bind(self, architecture: nn.Module):
        slots = [(self.get_submodule(path), kind, name, architecture.get_submodule(source_path))
                 for path, kind, name, source_path in self._hollow]
        try:
            for module, kind, name, source in slots:
                if kind == 'p':
                    module._parameters[name] = source._parameters[name].detach()
                elif module.training:  # private: an auxiliary pass must not move the main BN statistics
                    module._buffers[name] = source._buffers[name].clone()
                else:  # eval mode (norm_eval) reads the statistics and never writes them
                    module._buffers[name] = source._buffers[name]
            self._bound = True
            yield
        finally:
            self._bound = False
            for module, kind, name, _ in slots:
                (module._parameters if kind == 'p' else module._buffers)[name] = None


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


def _refuse_unbound(aux: AuxNet, args) -> None:
    if not aux._bound:
        raise RuntimeError(f'{type(aux).__name__} has tied weights (weight_source=\'tied\'): it holds no weights of '
                           'its own and runs only inside learner.aux_weights(k), which binds the main model\'s '
                           '(train_step does this for every module).')
