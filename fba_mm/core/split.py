"""Split points: where a network's sequence of blocks is cut into local modules."""
import difflib
from typing import List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ConfigError


def resolve_split_points(split_points: Sequence[str], blocks: Sequence[str], first_trainable: int,
                         key: str = 'split_points', stages: Optional[Mapping[str, Sequence[str]]] = None) -> List[int]:
    """Turn split-point names into block indices.

    ``blocks`` is the ordered list of cuttable blocks of a network, named by module path
    (``['layer1.0', ..., 'layer4.2']``, ``['body.0', ..., 'body.15']``). A split point names the first block
    of a new local module: a block (``'layer3.2'``) or a stage, meaning its first block (``'layer3'``).
    ``first_trainable`` is the index of the first block with trainable parameters: everything before it is
    the parameter-free prefix, so a cut there would leave a module that trains nothing.

    ``stages`` maps stage names to their blocks (by default a block's stage is its path without the last part).

    Returns the sorted indices at which local modules 2..K begin.
    """
    if isinstance(split_points, str):
        raise ConfigError(f'{key} must be a list of names, e.g. [{split_points!r}], got the string {split_points!r}')
    if stages is None:
        first_of = {}
        for i, name in enumerate(blocks):
            first_of.setdefault(name.rsplit('.', 1)[0], i)
    else:
        first_of = {stage: blocks.index(names[0]) for stage, names in stages.items() if names}
    stages = first_of
    indices = []
    for j, point in enumerate(split_points):
        where = f'{key}[{j}]={point!r}'
        if point in blocks:
            idx = blocks.index(point)
        elif point in stages:
            idx = stages[point]
        else:
            close = difflib.get_close_matches(str(point), list(stages) + list(blocks), n=3)
            hint = f' Did you mean {close}?' if close else ''
            raise ConfigError(
                f'{where} is not a block of this network.{hint} Name a stage ({", ".join(stages)}) or a block '
                f'({blocks[0]!r} .. {blocks[-1]!r}).')
        if idx <= first_trainable:
            raise ConfigError(
                f'{where} cuts at or before {blocks[first_trainable]!r}, the first block with trainable parameters, so '
                f'the module before it would train nothing (blocks before it are frozen and run without gradients). '
                f'Split after {blocks[first_trainable]!r}, e.g. {key}[{j}]='
                f'{blocks[min(first_trainable + 1, len(blocks) - 1)]!r}, or unfreeze earlier stages (frozen_stages).')
        if indices and idx == indices[-1]:
            raise ConfigError(f'{where} is the same cut as {key}[{j - 1}]={split_points[j - 1]!r}: each split point '
                              'must start a new module; remove the duplicate.')
        if indices and idx < indices[-1]:
            raise ConfigError(f'{where} comes before {key}[{j - 1}]={split_points[j - 1]!r} in the network: list split '
                              'points in forward order, e.g. '
                              f'{sorted(split_points, key=lambda p: _order(p, blocks, stages))}.')
        indices.append(idx)
    return indices


def _order(point, blocks, stages):
    return blocks.index(point) if point in blocks else stages.get(point, len(blocks))


def even_split_points(blocks: Sequence[str], first_trainable: int, num_modules: int) -> List[str]:
    """Block names that cut the trainable blocks into ``num_modules`` parts of (nearly) equal length."""
    n = len(blocks) - first_trainable
    if not 1 <= num_modules <= n:
        raise ConfigError(f'split_points={num_modules} asks for K={num_modules} modules, but this network has {n} '
                          f'trainable blocks, so K must be 1..{n}.')
    return [blocks[first_trainable + round(i * n / num_modules)] for i in range(1, num_modules)]


def module_name(k: int) -> str:
    """Name of local module ``k`` (0-based) in optimizer wrappers, schedulers and logs: ``m1``..``mK``."""
    return f'm{k + 1}'


def split_modules(blocks: Sequence[str], trainable: Sequence[bool], stem_trainable: bool,
                  split_points: Union[Sequence[str], int], stages: Optional[Mapping[str, Sequence[str]]] = None
                  ) -> Tuple[List[str], List[List[str]], List[str]]:
    """Cut ``blocks`` (in forward order; ``trainable``: whether each has trainable parameters) at ``split_points``
    (names, or an int K for K modules of nearly equal length). The blocks before the first trainable one are the
    gradient-free prefix, unless the stem before them trains (``stem_trainable``), when module 1 starts at the input.

    Returns ``(split point names, the blocks of each module, the prefix's blocks)``.
    """
    if stem_trainable:
        first = 0
    elif any(trainable):
        first = trainable.index(True)
    else:
        raise ConfigError('every block of the trunk is frozen, so there is nothing to train; lower frozen_stages.')
    if isinstance(split_points, int):
        points = even_split_points(blocks, first, split_points)
    else:
        points = split_points if isinstance(split_points, str) else list(split_points)  # a str: the error says why
    starts = resolve_split_points(points, blocks, first if not stem_trainable else -1, stages=stages)
    if any(trainable[first:]) and not all(trainable[first:]):
        frozen = [n for n, t in zip(blocks[first:], trainable[first:]) if not t]
        raise ConfigError(f'blocks {frozen} are frozen but come after trainable blocks; local learning needs every '
                          'block after the prefix to be trainable.')
    bounds = [first] + starts + [len(blocks)]
    return points, [list(blocks[bounds[k]:bounds[k + 1]]) for k in range(len(bounds) - 1)], list(blocks[:first])
