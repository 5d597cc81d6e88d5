"""Auxiliary-free checkpoints: what the stock config loads."""
import os.path as osp
from collections import OrderedDict
from typing import Dict

import torch

from .split import ConfigError

ARCH_PREFIX = 'architecture.'


def strip_to_architecture(state_dict: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """The stock model's state dict inside a local learner's: auxiliary nets dropped, prefix removed."""
    out = OrderedDict((k[len(ARCH_PREFIX):], v) for k, v in state_dict.items() if k.startswith(ARCH_PREFIX))
    if not out:
        raise ConfigError('this checkpoint holds no "architecture.*" weights, so it is not a fba_mm local learner\'s; '
                          'a stock checkpoint needs no conversion.')
    return out


def stock_checkpoint(checkpoint: dict) -> dict:
    """A checkpoint the stock config loads with strict loading: weights and meta, no optimizer state."""
    meta = dict(checkpoint.get('meta') or {})
    meta['fba_mm'] = 'stripped of auxiliary nets; load with the stock config'
    return {'meta': meta, 'state_dict': strip_to_architecture(checkpoint['state_dict'])}


def stock_path(path: str) -> str:
    """``work_dirs/x/iter_8.pth`` -> ``work_dirs/x/iter_8_stock.pth``."""
    root, ext = osp.splitext(path)
    return f'{root}_stock{ext or ".pth"}'
