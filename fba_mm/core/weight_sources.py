"""Where the weights of an auxiliary net's mirrors come from: one registered strategy per ``weight_source``.

An SLM auxiliary net runs copies of main-model parts (its *mirrors*, declared with :meth:`.AuxNet.mirror`). Each
strategy owns what happens to them when they are declared (:meth:`WeightSource.build`), after pretrained weights
load (:meth:`~WeightSource.init_from`), around module k's forward and backward (:meth:`~WeightSource.bound`) and
after every optimizer step (:meth:`~WeightSource.update_from`). Every choice keeps module k's parameters trained by
its local loss alone. Chosen in a config as mmengine chooses EMA maths by ``ema_type``::

    aux_net=dict(type='SLMAuxNet', weight_source='tied')          # or 'copy', or 'ema' with ema_momentum=0.995

A new source is a :class:`WeightSource` subclass registered in :data:`WEIGHT_SOURCES` under its config name.
"""
import contextlib
import itertools
from typing import TYPE_CHECKING, List, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import Registry

from .errors import ConfigError

if TYPE_CHECKING:
    from .aux_net import AuxNet

WEIGHT_SOURCES = Registry('weight source')


class WeightSource:
    """Base of the weight sources: the hooks an :class:`~fba_mm.core.aux_net.AuxNet` calls on its mirrors. The base
    does nothing at each of them."""

    name = ''

    def build(self, aux: 'AuxNet') -> None:
        """Once, when the mirrors are declared (they are copies of the main parts at that point)."""

    def init_from(self, aux: 'AuxNet', architecture: nn.Module) -> None:
        """After the main model's (possibly pretrained) weights are in place."""

    def update_from(self, aux: 'AuxNet', architecture: nn.Module) -> None:
        """After an iteration in which the modules stepped."""

    def bound(self, aux: 'AuxNet', architecture: nn.Module):
        """Context around module k's forward and backward."""
        return contextlib.nullcontext()


@WEIGHT_SOURCES.register_module('copy')
class CopyWeights(WeightSource):
    """Trained copies (the original SLM): initialised from the main weights, then trained by the local loss alone.
    Costs parameters, gradients and optimizer state."""

    name = 'copy'

    def init_from(self, aux: 'AuxNet', architecture: nn.Module) -> None:
        for path, source in aux.mirror_pairs():
            aux.get_submodule(path).load_state_dict(architecture.get_submodule(source).state_dict())
        with torch.no_grad():
            for path, source in aux.parameter_mirror_pairs():
                aux.get_parameter(path).copy_(architecture.get_parameter(source))


@WEIGHT_SOURCES.register_module('tied')
class TiedWeights(WeightSource):
    """No weights of its own. While module k trains (forward and backward), each mirror holds the main part's
    parameters *detached* and a private copy of its buffers, so the local loss's gradient reaches the live feature,
    and through it module k, but never the main part, and an auxiliary pass does not move the main BN statistics.
    It always sees the current main weights. No parameters, gradients or optimizer state."""

    name = 'tied'

    def __init__(self) -> None:
        # empty slots: (module path in the aux net, 'p'/'b', name, source module's path in the architecture). Paths,
        # not modules: mmengine's Runner may replace layers after construction (SyncBN <-> BN in wrap_model)
        self.slots: List[Tuple[str, str, str, str]] = []

    def build(self, aux: 'AuxNet') -> None:
        for path, source in aux.parameter_mirror_pairs():
            parent, _, name = path.rpartition('.')
            aux.get_submodule(parent)._parameters[name] = None
            self.slots.append((parent, 'p', name, source.rpartition('.')[0]))
        for path, source in aux.mirror_pairs():  # the copy made at construction is dropped here
            for rel, m in aux.get_submodule(path).named_modules():
                for kind, store in (('p', m._parameters), ('b', m._buffers)):
                    for name in [n for n, t in store.items() if t is not None]:
                        store[name] = None
                        self.slots.append((f'{path}.{rel}' if rel else path, kind, name,
                                           f'{source}.{rel}' if rel else source))
        aux.register_forward_pre_hook(_refuse_unbound)

    def bound(self, aux: 'AuxNet', architecture: nn.Module):
        return self._bind(aux, architecture) if self.slots else contextlib.nullcontext()

    @contextlib.contextmanager
    def _bind(self, aux: 'AuxNet', architecture: nn.Module):
        slots = [(aux.get_submodule(path), kind, name, architecture.get_submodule(source))
                 for path, kind, name, source in self.slots]
        try:
            for module, kind, name, source in slots:
                if kind == 'p':
                    module._parameters[name] = source._parameters[name].detach()
                elif module.training:  # private: an auxiliary pass must not move the main BN statistics
                    module._buffers[name] = source._buffers[name].clone()
                else:  # eval mode (norm_eval) reads the statistics and never writes them
                    module._buffers[name] = source._buffers[name]
            aux._bound = True
            yield
        finally:
            aux._bound = False
            for module, kind, name, _ in slots:
                (module._parameters if kind == 'p' else module._buffers)[name] = None


@WEIGHT_SOURCES.register_module('ema')
class EMAWeights(CopyWeights):
    """Frozen copies (no gradients, no optimizer state) that follow the main weights by an exponential moving
    average after every optimizer step: ``w <- m * w + (1 - m) * w_main`` (MAN uses ``momentum`` 0.995). Integer
    buffers (BN's batch counter) are copied."""

    name = 'ema'

    def __init__(self, momentum: float = 0.995) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f'aux_net.ema_momentum={momentum}: need 0 <= ema_momentum < 1 (MAN uses 0.995)')
        self.momentum = momentum

    def build(self, aux: 'AuxNet') -> None:
        for path, _ in aux.mirror_pairs():
            aux.get_submodule(path).requires_grad_(False)
        for path, _ in aux.parameter_mirror_pairs():
            aux.get_parameter(path).requires_grad_(False)

    @torch.no_grad()
    def update_from(self, aux: 'AuxNet', architecture: nn.Module) -> None:
        pairs = []
        for path, source in aux.mirror_pairs():
            mine, main = aux.get_submodule(path), architecture.get_submodule(source)
            pairs += zip(itertools.chain(mine.parameters(), mine.buffers()),
                         itertools.chain(main.parameters(), main.buffers()))
        pairs += [(aux.get_parameter(p), architecture.get_parameter(s)) for p, s in aux.parameter_mirror_pairs()]
        for w, w_main in pairs:
            if w.is_floating_point():
                w.lerp_(w_main, 1.0 - self.momentum)
            else:
                w.copy_(w_main)


def _refuse_unbound(aux: 'AuxNet', args) -> None:
    if not aux._bound:
        raise RuntimeError(f'{type(aux).__name__} has tied weights (weight_source=\'tied\'): it holds no weights of '
                           'its own and runs only inside learner.aux_weights(k), which binds the main model\'s '
                           '(train_step does this for every module).')


def build_weight_source(weight_source: Union[str, dict], ema_momentum: float = 0.995) -> WeightSource:
    """The registered strategy ``weight_source`` names (a name, or a config dict with its own arguments:
    ``dict(type='ema', momentum=0.99)``); ``ema_momentum`` is the SLM configs' key for EMA's momentum. A ConfigError
    lists the registered names for any other name."""
    cfg = dict(type=weight_source) if isinstance(weight_source, str) else dict(weight_source)
    source = WEIGHT_SOURCES.module_dict.get(cfg.pop('type', None))  # not build(): no switch to the runner's scope
    if source is None:
        raise ConfigError(f'aux_net.weight_source={weight_source!r}: choose one of {list(WEIGHT_SOURCES.module_dict)}'
                          ' (copy: trained copies of the main parts; tied: the main parts themselves, detached; ema: '
                          'frozen copies that follow the main weights by a moving average)')
    if source is EMAWeights:
        cfg.setdefault('momentum', ema_momentum)
    return source(**cfg)
