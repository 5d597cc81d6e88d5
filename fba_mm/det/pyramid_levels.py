"""Auxiliary heads that leave out the finest pyramid levels (``SLMAuxNet(first_level=1)``).

The finest level is where an auxiliary detector spends most of its compute (the FPN output conv and the RPN conv at
P2, the largest feature map; docs/det.md, "Compute: FLOPs of one training step"), and every module k < K runs them
again. With ``first_level=n`` the auxiliary net runs the neck from the backbone level that
feeds its n-th output on, so the finest n outputs and the convs that make them are never computed, and its heads
see the remaining levels with their own priors: the RPN's anchors of the dropped levels are gone, RoIs that went
to a dropped level go to the finest level left (the RoI extractor's level thresholds are doubled per level
dropped, so every other RoI keeps its level), and per-level parts of a head (FCOS-style ``scales``) shift with
their levels. The main model is untouched: module K trains the real detector on every level.

This needs an FPN-style neck, whose outputs at a level do not depend on the finer levels' inputs (the top-down path
runs from coarse to fine). Path-aggregation necks (PAFPN, CSPNeXtPAFPN, YOLOXPAFPN) build every coarser output from
the finest one, so they are refused.
"""
import contextlib
from typing import Iterator, List, Optional, Tuple

import torch.nn as nn
from mmdet.models.necks import FPN

from fba_mm.core import ConfigError

#: module lists of a dense head that hold one entry per pyramid level (FCOS, ATSS, TOOD: a learned ``Scale`` each)
PER_LEVEL_MODULES = ('scales', )


def check_first_level(neck: nn.Module, detector: nn.Module, first_level: int) -> None:
    """Refuse, with the reason and the fix, a detector whose auxiliary heads cannot leave out ``first_level``
    levels."""
    if first_level < 0:
        raise ConfigError(f'aux_net.first_level={first_level}: give the number of finest pyramid levels the auxiliary '
                          'heads leave out (0: none).')
    if neck is None or type(neck) is not FPN:
        name = type(neck).__name__ if neck is not None else 'no neck'
        raise ConfigError(
            f'aux_net.first_level={first_level} needs an FPN neck, and this detector has {name}: a path-aggregation '
            "neck builds every coarser output from the finest one, so the finest level cannot be left out. Use "
            'first_level=0 (the auxiliary heads run every level).')
    num_outs = neck.num_outs
    if first_level >= num_outs:
        raise ConfigError(f'aux_net.first_level={first_level}: the neck has {num_outs} output levels; leave out at '
                          f'most {num_outs - 1}.')
    if first_level >= len(neck.lateral_convs):
        raise ConfigError(f'aux_net.first_level={first_level}: the FPN has {len(neck.lateral_convs)} input levels, '
                          'and its extra levels are made from them; leave out fewer.')
    for path, head in _dense_heads(detector):
        levels = head.prior_generator.num_levels
        unknown = [name for name, child in head.named_children() if isinstance(child, nn.ModuleList)
                   and len(child) == levels and name not in PER_LEVEL_MODULES]
        if unknown:
            raise ConfigError(
                f'aux_net.first_level={first_level}: {type(head).__name__} ({path}) has per-level parts {unknown} that '
                'fba_mm does not know how to shift with the levels; use first_level=0.')


def own_levels_start(neck: nn.Module, first_stage: Optional[int]) -> int:
    """``first_level='own'``: how many of the FPN's finest outputs are fed only by backbone stages before
    ``first_stage`` (the first stage module k computes), i.e. by the bank's detached features. Those levels reach
    module k only through the top-down path, while a level fed by one of its own stages trains that stage directly."""
    if first_stage is None:
        raise ConfigError("aux_net.first_level='own' needs the stage where the module starts; the learner sets it.")
    if neck is None or type(neck) is not FPN:
        return 1  # check_first_level refuses it with the reason
    return max(0, min(first_stage - neck.start_level, len(neck.lateral_convs) - 1))


def drop_finest_priors(detector: nn.Module, first_level: int) -> None:
    """The priors of ``detector``'s heads (a copy's: the auxiliary net's own) without the finest ``first_level``
    levels: anchor and point generators, FCOS-style strides and regression ranges, RoI extractors' strides and level
    thresholds. Plain attributes, set once; :func:`finest_levels_left_out` does the per-level modules."""
    n = first_level
    for _, head in _dense_heads(detector):
        generator = head.prior_generator
        for key in ('strides', 'base_sizes', 'base_anchors', 'centers'):
            if isinstance(getattr(generator, key, None), list):
                setattr(generator, key, getattr(generator, key)[n:])
        if isinstance(getattr(head, 'strides', None), (list, tuple)):
            head.strides = type(head.strides)(head.strides[n:])
        if isinstance(getattr(head, 'regress_ranges', None), (list, tuple)):
            head.regress_ranges = type(head.regress_ranges)(head.regress_ranges[n:])
    for extractor in _roi_extractors(detector):
        extractor.featmap_strides = list(extractor.featmap_strides)[n:]
        if isinstance(getattr(extractor, 'finest_scale', None), (int, float)):
            extractor.finest_scale = extractor.finest_scale * 2**n


@contextlib.contextmanager
def finest_levels_left_out(neck: nn.Module, detector: nn.Module, first_level: int):
    """Within it, ``neck`` (an FPN) computes only its outputs from level ``first_level`` on, and ``detector``'s
    per-level modules (RoI extractors' RoI layers, FCOS-style scales) start there too. The same module objects, in
    shorter lists, so tied weights bound to them stay bound; everything is restored on exit."""
    n = first_level
    swaps: List[Tuple[nn.Module, str, object]] = []

    def swap(module, name, value):
        swaps.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    try:
        swap(neck, 'lateral_convs', nn.ModuleList(list(neck.lateral_convs)[n:]))
        swap(neck, 'fpn_convs', nn.ModuleList(list(neck.fpn_convs)[n:]))
        swap(neck, 'start_level', neck.start_level + n)
        swap(neck, 'num_outs', neck.num_outs - n)
        for extractor in _roi_extractors(detector):
            swap(extractor, 'roi_layers', nn.ModuleList(list(extractor.roi_layers)[n:]))
        for _, head in _dense_heads(detector):
            for name in PER_LEVEL_MODULES:
                if isinstance(getattr(head, name, None), nn.ModuleList):
                    swap(head, name, nn.ModuleList(list(getattr(head, name))[n:]))
        yield
    finally:
        for module, name, value in reversed(swaps):
            setattr(module, name, value)


def _dense_heads(detector: nn.Module) -> Iterator[Tuple[str, nn.Module]]:
    """The heads that run on every pyramid level with a prior generator (RPN, RetinaNet, FCOS, ...)."""
    for path, m in detector.named_modules():
        if hasattr(getattr(m, 'prior_generator', None), 'num_levels'):
            yield path, m


def _roi_extractors(detector: nn.Module) -> Iterator[nn.Module]:
    for m in detector.modules():
        if isinstance(getattr(m, 'roi_layers', None), nn.ModuleList) and hasattr(m, 'featmap_strides'):
            yield m
