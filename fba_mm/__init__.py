"""fba_mm: supervised local learning with a feature bank (FBA) for OpenMMLab 2.x.

``import fba_mm`` registers the task-agnostic engine in mmengine's root registries; configs add
``custom_imports=dict(imports=['fba_mm.det'])`` (mmdet) or ``['fba_mm.sr']`` (mmagic) for the task adapters.
"""
from .core import compat as _compat

_compat.apply()

from . import core  # noqa: E402,F401  (registers the engine)

__version__ = '0.1.0'
