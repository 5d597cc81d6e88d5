"""Which blocks and parts each local module trains: the split of the trunk, and the paths that the optimizer split and
the DDP wrapper read."""
from collections import OrderedDict
from typing import List

import torch.nn as nn

from .errors import ConfigError
from .local_step import LocalStep, ParameterHolder
from .split import split_modules


class LocalModules:
    """The local modules of a :class:`~fba_mm.core.local_learner.LocalLearner`: the trunk's blocks read through its
    layout, cut at the split points into module 1..K, and for each module the paths of everything it trains (its
    blocks, its auxiliary net, the task head for the last one). A mixin of the learner; adapters override the
    path methods where their network is laid out otherwise (a DETR's encoder layers)."""

    def trunk_stages(self) -> 'OrderedDict[str, List[str]]':
        """Stage name -> its blocks, in forward order: the layout's stages of the network, and for an adapter that
        cuts on past it (a DETR's encoder layers, :mod:`fba_mm.det.detr`) its own after them."""
        return self.layout.structure(self.network)

    def trunk_blocks(self) -> 'OrderedDict[str, nn.Module]':
        """The cuttable blocks in forward order, by the names split points use (``'layer2.0'``, ``'body.3'``)."""
        return OrderedDict((name, self.get_submodule(self.block_path(name)))
                           for blocks in self.trunk_stages().values() for name in blocks)

    def block_path(self, name: str) -> str:
        """Module path (relative to the learner) of the trunk block called ``name``."""
        return f'architecture.{self.network_path}.{name}'

    def block_paths(self, name: str) -> List[str]:
        """Module paths trained with block ``name`` (with a stage's last block, the stage's exit)."""
        if self.layout is None:
            return [self.block_path(name)]
        return [f'architecture.{self.network_path}.{p}' for p in self.layout.block_parts(self.network, name)]

    def stem_paths(self) -> List[str]:
        """Trainable modules that run before the first block and belong to module 1 (e.g. EDSR's conv_first)."""
        if self.layout is None:
            return []
        return [f'architecture.{self.network_path}.{m}' for m in self.layout.stem(self.network)]

    def build_split(self) -> None:
        """Resolve split points into module boundaries (the constructor calls it before building the auxiliary nets,
        which depend on where the cuts are)."""
        blocks = self.trunk_blocks()
        trainable = [any(p.requires_grad for p in b.parameters()) for b in blocks.values()]
        self.stem_trainable = any(p.requires_grad for path in self.stem_paths()
                                  for p in self.get_submodule(path).parameters())
        try:
            self.split_points, self._module_blocks, self._prefix_blocks = split_modules(
                list(blocks), trainable, self.stem_trainable, self._split_cfg,
                stages=self.trunk_stages() if self.layout else None)
        except ConfigError as e:
            raise ConfigError(f'{type(self).__name__}: {e} {self.split_hint()}'.strip()) from None
        self.num_modules = len(self._module_blocks)

    def module_blocks(self, k: int) -> List[str]:
        return self._module_blocks[k]

    @property
    def prefix_blocks(self) -> List[str]:
        return self._prefix_blocks

    def aux_paths(self, k: int) -> List[str]:
        """Paths of the auxiliary net that trains module ``k`` (k < K-1)."""
        return [f'aux_nets.{k}']

    def part_at(self, path: str) -> nn.Module:
        """The module at ``path``, or for a path that names a bare parameter a :class:`ParameterHolder` of it."""
        try:
            return self.get_submodule(path)
        except AttributeError:
            parent, _, name = path.rpartition('.')
            return ParameterHolder(name, self.get_submodule(parent).get_parameter(name))

    def local_module_paths(self) -> List[List[str]]:
        """For every local module, the paths of the modules (or bare parameters) it trains. The single source of
        truth for the optimizer split and the DDP wrapper (both read them through :meth:`part_at`)."""
        paths = []
        for k in range(self.num_modules):
            p = [path for b in self._module_blocks[k] for path in self.block_paths(b)]
            if k == 0 and self.stem_trainable:
                p = self.stem_paths() + p
            p += self.head_paths() if k == self.num_modules - 1 else self.aux_paths(k)
            paths.append(p)
        return paths

    @property
    def local_steps(self) -> List[LocalStep]:
        if not self._local_steps:
            self._local_steps = [
                LocalStep(self, k, [self.part_at(p) for p in paths])
                for k, paths in enumerate(self.local_module_paths())
            ]
        return self._local_steps
