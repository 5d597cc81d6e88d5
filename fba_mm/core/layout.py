"""The layout: how a network is read as a sequence of cuttable blocks. The one contract between core and a task.

A layout describes the network that local learning cuts (a detector's backbone, an SR generator) as::

    stem -> stage 0: block, block, ... -> exit 0 -> stage 1: ... -> exit n-1

- the **stem**: modules before the first block (trained with module 1 when trainable);
- the **stages**, each an ordered list of **blocks** named by module path (``'layer3.0'``, ``'stages.2.blocks.1'``,
  ``'body.7'``); a split point names a block or a stage (its first block);
- a stage's **exit**: what runs after its last block (Swin's output norm and patch merging), trained with that
  block;
- what **later parts need** from earlier ones, which the feature bank carries: items returned by
  :meth:`Layout.forward_stem` and :meth:`Layout.exit_stage` under names of the layout's choosing (``'stage2'``,
  ``'skip'``), and, with ``bank_carries_blocks``, every block's output under the block's name (RDN's fusion).

What a task puts after the network (mmdet's neck and heads, an SR tail) is the task adapter's, which reads it
with its own layout subclass. Layouts hold no modules: every method takes ``net``, the network or a partial copy
of it holding the parts it runs at the same paths (:func:`partial_copy`), so auxiliary nets run their copies
with the same code as the learner runs the network.

Adding a network is one registered class; a user's project registers its own through ``custom_imports``::

    from fba_mm.core import LAYOUTS, Layout

    @LAYOUTS.register_module()
    class MyNetLayout(Layout):
        network_types = (MyNet, )
        def stem(self, net): return ['conv_in']
        def stages(self, net): return {f'stage{i}': [f'stage{i}.{j}' for j in range(len(s))]
                                       for i, s in enumerate(net.stages)}
        def forward_stem(self, net, x): return net.conv_in(x), {}

The learner picks the registered layout whose ``network_types`` match the network most closely (a subclass's
own layout before its base class's); ``layout=dict(type='MyNetLayout')`` names one explicitly.
"""
import copy
import types
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import torch
import torch.nn as nn
from mmengine.registry import Registry

from .errors import ConfigError
from .functional import maybe_checkpoint

LAYOUTS = Registry('fba_mm layout', scope='fba_mm')

#: what a layout hands the feature bank: name -> feature (the bank itself is :class:`~fba_mm.core.FeatureBank`)
Features = Dict[str, torch.Tensor]


class Layout:
    """How a network is cut into local modules (see :mod:`fba_mm.core.layout`). Built with the network, whose
    settings it may read and check (raise :class:`ConfigError` for what cannot be cut); it keeps no reference."""

    #: network classes this layout reads (matched with isinstance; the closest class in the MRO wins)
    network_types: Tuple[type, ...] = ()
    #: the bank carries every block's output, under the block's name (a tail that fuses them all)
    bank_carries_blocks = False

    def __init__(self, net: Optional[nn.Module] = None) -> None:
        """:func:`find_layout` builds every layout with the network (``cls(net, **cfg)``); a subclass whose network
        needs checking or reading once (Swin's position embedding, SwinIR's upsampler) overrides this."""

    # ------------------------------------------------------------------ structure (module paths in ``net``)
    def stem(self, net: nn.Module) -> List[str]:
        """Modules that run before the first block."""
        return []

    def stages(self, net: nn.Module) -> 'OrderedDict[str, List[str]]':
        """Stage name -> its blocks' paths, in forward order."""
        raise NotImplementedError

    def exit_parts(self, net: nn.Module, stage: int) -> List[str]:
        """Modules :meth:`exit_stage` runs after stage ``stage``'s last block (they go with that block)."""
        return []

    # ------------------------------------------------------------------ running
    def forward_stem(self, net: nn.Module, x: torch.Tensor) -> Tuple[Any, Features]:
        """The stem on the network's input: (input of the first block, what the bank carries from here)."""
        raise NotImplementedError

    def run_block(self, block: nn.Module, state, with_cp: bool = False):
        """One block on the state flowing between blocks (a tensor, or any structure of them), under activation
        checkpointing when ``with_cp``."""
        return maybe_checkpoint(block, state, enabled=with_cp)

    def run_block_at(self, net: nn.Module, name: str, state, with_cp: bool = False):
        """Block ``name`` of ``net`` on ``state``: :meth:`run_block` on the module at that path, unless a layout's
        blocks need more than their own module (a CSP layer's first block also runs the layer's short branch)."""
        return self.run_block(net.get_submodule(name), state, with_cp)

    def exit_stage(self, net: nn.Module, stage: int, state) -> Tuple[Any, Features]:
        """After stage ``stage``'s last block: (the state the next stage starts from, what the bank carries)."""
        return state, {}

    # ------------------------------------------------------------------ derived (not overridden)
    def structure(self, net: nn.Module) -> 'OrderedDict[str, List[str]]':
        """:meth:`stages` of the network this layout was found for (:func:`find_layout` keeps them), so that a
        partial copy, which holds only some blocks, runs with the whole network's stage boundaries."""
        return self.__dict__.get('_stages') or self.stages(net)

    def blocks(self, net: nn.Module) -> List[str]:
        return [b for blocks in self.structure(net).values() for b in blocks]

    def stage_ends(self, net: nn.Module) -> Dict[str, int]:
        """Last block of each stage -> the stage's index."""
        return {blocks[-1]: s for s, blocks in enumerate(self.structure(net).values()) if blocks}

    def stage_index(self, net: nn.Module) -> Dict[str, int]:
        """Block -> index of its stage."""
        return {b: s for s, blocks in enumerate(self.structure(net).values()) for b in blocks}

    def block_parts(self, net: nn.Module, block: str) -> List[str]:
        """Modules trained with ``block``: the block, and after a stage's last block the stage's exit."""
        stage = self.stage_ends(net).get(block)
        return [block] + (self.exit_parts(net, stage) if stage is not None else [])

    def run_blocks(self, net: nn.Module, names: Sequence[str], state, bank: Optional[Features] = None,
                   with_cp: bool = False):
        """The named blocks of ``net`` in order, each stage's exit after its last block; what the bank carries
        is added to ``bank`` (live, as computed)."""
        ends = self.stage_ends(net)
        for name in names:
            state = self.run_block_at(net, name, state, with_cp)
            if self.bank_carries_blocks and bank is not None:
                bank[name] = state
            if name in ends:
                state, items = self.exit_stage(net, ends[name], state)
                if bank is not None:
                    bank.update(items)
        return state


def find_layout(net: nn.Module, layout: Optional[dict] = None, what: str = 'network',
                kind: Type[Layout] = Layout) -> Layout:
    """The layout of ``net``: ``layout`` (a config, e.g. ``dict(type='MyNetLayout')``) or, by default, the
    registered layout whose ``network_types`` is closest to ``type(net)`` in its MRO. ``kind``: the layout class
    a task needs (a detector's backbone needs a ``BackboneLayout``)."""
    if layout is not None:
        cfg = dict(layout)
        cls = LAYOUTS.get(cfg.pop('type')) if isinstance(cfg.get('type'), str) else cfg.pop('type', None)
        if cls is None:
            raise ConfigError(f'layout={layout!r}: no such layout is registered; registered: '
                              f'{sorted(LAYOUTS.module_dict)}. Import the module that registers it '
                              "(custom_imports=dict(imports=[...])).")
        if not issubclass(cls, kind):
            raise ConfigError(f'layout={layout!r}: {cls.__name__} is not a {kind.__name__}, which this task needs '
                              f'(subclass {kind.__module__}.{kind.__name__}).')
        return _bound(cls(net, **cfg), net)
    mro = type(net).__mro__
    best, rank = None, len(mro)
    for cls in _registered(kind):
        for t in cls.network_types:
            if t in mro and mro.index(t) < rank:
                best, rank = cls, mro.index(t)
    if best is None:
        raise ConfigError(f'{what} {type(net).__name__} has no layout, so fba_mm cannot cut it into local modules. '
                          f'Layouts are registered for: {", ".join(registered_networks(kind))}. '
                          f'{_why_not(net)}To cut another network, register a Layout subclass for it '
                          '(fba_mm.core.layout; README "Your own network") and import it with custom_imports.')
    return _bound(best(net), net)


def _bound(layout: Layout, net: nn.Module) -> Layout:
    layout._stages = layout.stages(net)
    return layout


def _registered(kind: Type[Layout]) -> List[Type[Layout]]:
    return [cls for cls in LAYOUTS.module_dict.values() if issubclass(cls, kind)]


def registered_networks(kind: Type[Layout] = Layout) -> List[str]:
    return sorted({t.__name__ for cls in _registered(kind) for t in cls.network_types})


def _why_not(net: nn.Module) -> str:
    # networks people try that have no sequence of blocks to cut
    reason = _NOT_CUTTABLE.get(type(net).__name__)
    return f'{reason} ' if reason else ''


_NOT_CUTTABLE = {
    'HRNet': 'HRNet cannot be cut: from stage 2 on it runs parallel branches at several resolutions that exchange '
             'features inside every stage, so there is no single feature between blocks to hand from one local '
             'module to the next. Use a sequential backbone (ResNet, ResNeXt, RegNet, Res2Net, Swin) for local '
             'learning, or train HRNet end to end (with_cp=True saves activation memory).',
}


def partial_copy(net: nn.Module, paths: Sequence[str]) -> nn.Module:
    """A copy of ``net`` that holds deep copies of the modules at ``paths`` at the same paths, and of the modules
    without parameters or buffers (activations, pooling) that its code may call; every other module is left out,
    not copied. A layout runs it as it runs ``net``: an auxiliary net keeps its copies of main-model parts so."""
    shell = copy.copy(net)  # the object's plain settings; its modules and parameters are replaced
    shell._parameters = OrderedDict()
    shell._buffers = OrderedDict((k, None if b is None else b.clone()) for k, b in net._buffers.items())
    shell._modules = OrderedDict()
    shell._non_persistent_buffers_set = set(net._non_persistent_buffers_set)
    for hooks in ('_forward_hooks', '_forward_pre_hooks', '_backward_hooks'):
        if hasattr(shell, hooks):
            setattr(shell, hooks, OrderedDict())
    children: Dict[str, List[str]] = OrderedDict()
    for path in paths:
        head, _, rest = path.partition('.')
        children.setdefault(head, []).append(rest)
    for name, child in net._modules.items():
        if name in children:
            rests = children[name]
            shell._modules[name] = copy.deepcopy(child) if '' in rests else partial_copy(child, rests)
        elif child is not None and not any(True for _ in child.parameters()) and \
                not any(True for _ in child.buffers()):
            shell._modules[name] = copy.deepcopy(child)
    unknown = set(children) - set(net._modules)
    if unknown:
        raise KeyError(f'partial_copy: {type(net).__name__} has no module {sorted(unknown)}')
    shell._fba_partial = True  # its own forward / init_weights may reach modules it lacks
    if type(net).train is not nn.Module.train:  # e.g. ResNet's freezes stages the copy may not hold
        shell.train = types.MethodType(nn.Module.train, shell)
    return shell
