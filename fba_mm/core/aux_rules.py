"""Task-independent pieces of auxiliary-net strategies (the task adapters build the layers)."""
import math
from typing import List, Sequence

from .errors import ConfigError


def augloc_depth(module_index: int, num_modules: int, max_depth: int, min_depth: int = 1) -> int:
    """AugLocal's depth rule: the auxiliary net of an early module is deep, of a late one shallow, linearly:
    ``max(min_depth, round_half_up(max_depth * (K - 1 - k) / (K - 1)))`` for module ``k`` of ``K`` (0-based)."""
    if not 1 <= min_depth <= max_depth:
        raise ConfigError(f'aux_net min_depth={min_depth}, max_depth={max_depth}: need 1 <= min_depth <= max_depth')
    if num_modules < 2:
        return max_depth
    return max(min_depth, _round(max_depth * (num_modules - 1 - module_index) / (num_modules - 1)))


def sample_uniformly(items: Sequence[str], n: int) -> List[str]:
    """``n`` items evenly spaced over ``items`` (first and last included when n >= 2; the first when n = 1)."""
    n = min(n, len(items))
    if n <= 0:
        return []
    if n == 1:
        return [items[0]]
    return [items[_round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def _round(x: float) -> int:
    return math.floor(x + 0.5)  # half up: Python's round() goes to even, which makes the spacing lopsided
