"""Checkpoints: safe loading of mmengine's checkpoints, and auxiliary-free ones that the stock config loads."""
import os
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Callable, Dict, List, Tuple, Union

import torch

from .errors import ConfigError

ARCH_PREFIX = 'architecture.'
TRUST_ENV = 'FBA_MM_TRUSTED_CHECKPOINTS'


# ---------------------------------------------------------------------------------------------- safe loading
def _history_buffer_statistic(cls, name: str):
    """The one use mmengine checkpoints make of ``getattr``: a ``HistoryBuffer`` statistic method (``min``,
    ``mean``, ...) pickled by reference. Anything else is refused, so the allowlist does not hand out a general
    ``getattr``."""
    from mmengine.logging import HistoryBuffer
    if cls is HistoryBuffer and not name.startswith('_') and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({cls!r}, {name!r}) is not something an mmengine checkpoint needs')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The Python types an mmengine checkpoint holds besides tensors: the message hub's ``HistoryBuffer`` with its
    numpy arrays and scalars, and a restricted ``getattr`` for the buffer's statistic methods."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    try:  # numpy 2 renamed numpy.core to numpy._core; checkpoints written under either name load
        from numpy._core import multiarray
    except ImportError:
        from numpy.core import multiarray
    allowed: List[Union[Callable, Tuple[Callable, str]]] = [HistoryBuffer, np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed += [(multiarray._reconstruct, f'{module}._reconstruct'), (multiarray.scalar, f'{module}.scalar')]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25 pickles dtypes as numpy.dtypes.Float64DType etc.
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    allowed.append((_history_buffer_statistic, 'builtins.getattr'))
    return allowed


def trusted_checkpoints() -> List[str]:
    """Files the user has named as trusted in ``FBA_MM_TRUSTED_CHECKPOINTS`` (paths separated by ``os.pathsep``)."""
    return [osp.realpath(osp.expanduser(p)) for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p]


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load`` with ``weights_only=True`` and the allowlist of :func:`checkpoint_safe_globals`.

    mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, and torch >= 2.6 then refuses every mmengine
    checkpoint; fba_mm registers this as mmengine's local loader, so ``load_from``, ``--resume``,
    ``init_cfg=dict(type='Pretrained')`` and ``tools/test.py`` load through it. The allowlist applies to this
    load only: torch's default for any other ``torch.load`` in the process stays as it is. A file that needs
    more (a pickled object, possibly code) is refused unless the user trusts it by name in
    ``FBA_MM_TRUSTED_CHECKPOINTS``.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if osp.realpath(filename) in trusted_checkpoints():
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'refused to load {filename}: it holds Python objects beyond tensors and what mmengine checkpoints '
            f'need, and unpickling them could run arbitrary code ({_refusal_reason(e)}). If you trust this file and '
            f'where it came from, name it in the environment: {TRUST_ENV}={osp.realpath(filename)} (several files '
            f'separated by "{os.pathsep}"); or allow the one type it needs with torch.serialization.add_safe_globals('
            '[...]) in a module listed in custom_imports.') from None


def _refusal_reason(error: Exception) -> str:
    """The line of torch's refusal that names what was refused (its advice to set weights_only=False is not ours)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if 'GLOBAL' in line or 'getattr' in line]
    return (named or lines or ['unknown'])[-1]


# ---------------------------------------------------------------------------------------------- loading into a learner
class AuxCheckpointLoading:
    """What a local learner does when weights load into it (a mixin of :class:`~fba_mm.core.LocalLearner`, which
    registers :meth:`_recopy_unloaded_aux` as its ``load_state_dict`` post-hook):

    - a stock checkpoint (``load_from`` a detector or editor trained without fba_mm, keys without
      ``architecture.``) loads into the architecture;
    - auxiliary nets the checkpoint has no weights for (a stock checkpoint, or one trained with another weight
      source) take theirs from the loaded architecture once it has loaded: mmengine applies ``load_from`` after
      ``init_weights()``, so the copies made there would be stale.
    """

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        own = prefix + ARCH_PREFIX
        if state_dict and not any(k.startswith(own) or k.startswith(prefix + 'aux_nets.') for k in state_dict):
            for key in [k for k in state_dict if k.startswith(prefix)]:
                state_dict[own + key[len(prefix):]] = state_dict.pop(key)
        self._aux_not_loaded = [k for k in range(len(getattr(self, 'aux_nets', ())))
                                if not any(key.startswith(f'{prefix}aux_nets.{k}.') for key in state_dict)]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def _recopy_unloaded_aux(learner, incompatible_keys) -> None:
        """``load_state_dict`` post-hook (torch's and mmengine's loaders both call it, after every child loaded)."""
        for k in getattr(learner, '_aux_not_loaded', ()):
            learner.aux_nets[k].init_from_architecture(learner.architecture)
        learner._aux_not_loaded = []


# ---------------------------------------------------------------------------------------------- stock checkpoints
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
