"""A copy of a detector's heads and losses without its backbone and neck, which an auxiliary net brings itself;
with the auxiliary heads' own ``train_cfg`` merged into the detector's."""
import copy
from typing import Optional

import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

from fba_mm.core import ConfigError, partial_copy


def head_only_copy(architecture: nn.Module, architecture_cfg: Optional[dict], train_cfg: Optional[dict]):
    """A detector with the architecture's heads and losses but no backbone and no neck (those the auxiliary
    net brings itself). Built from the config when the aux heads get their own ``train_cfg`` (the RoI/anchor
    samplers are made at construction), else copied."""
    if train_cfg:
        if architecture_cfg is None:
            raise ConfigError('aux_net.train_cfg needs the architecture as a config dict (architecture=dict(...)), '
                              'not a built model: the auxiliary heads are rebuilt with it.')
        cfg = copy.deepcopy(ConfigDict(architecture_cfg))
        cfg.train_cfg = _merge(copy.deepcopy(cfg.get('train_cfg') or ConfigDict()), train_cfg)
        cfg.backbone.init_cfg = None
        shadow = MODELS.build(cfg)
    else:
        shadow = partial_copy(architecture, [name for name, child in architecture.named_children()
                                             if child is not None and name not in ('backbone', 'neck')])
        for name, param in architecture.named_parameters(recurse=False):  # DINO's level_embed
            shadow.register_parameter(name, copy.deepcopy(param))
    shadow._modules['backbone'] = None
    if 'neck' in architecture._modules:
        shadow._modules['neck'] = None
    shadow._fba_partial = True  # its init_weights would look for the backbone
    return shadow


def _merge(base: dict, override: dict, path: str = 'train_cfg') -> dict:
    """``override`` merged into ``base`` in place, dict into dict. Where ``base`` holds a list of stage dicts
    (CascadeRoIHead's ``train_cfg.rcnn``, one per stage), a dict override is merged into every stage and a list
    of dicts of the same length stage by stage; anything else replaces what is there."""
    for key, value in override.items():
        old, where = base.get(key), f'{path}.{key}'
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value, where)
        elif _dict_list(old) and isinstance(value, dict):
            for i, stage in enumerate(old):
                _merge(stage, value, f'{where}[{i}]')
        elif _dict_list(old) and _dict_list(value):
            if len(value) != len(old):
                raise ConfigError(f'aux_net.{where} has {len(value)} entries, the detector has {len(old)} (one per '
                                  'stage): give one per stage, or a dict for every stage.')
            for i, (stage, stage_value) in enumerate(zip(old, value)):
                _merge(stage, stage_value, f'{where}[{i}]')
        else:
            base[key] = value
    return base


def _dict_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, dict) for v in value)
