"""fba_mm for mmagic: local-learning SR editors (imports mmagic, never mmdet)."""
from mmagic.utils import register_all_modules

import fba_mm  # noqa: F401  (stack fixes and the engine)

register_all_modules(init_default_scope=False)

from .aux_nets import SRAugLocAuxNet, SRAuxNet, SRDGLAuxNet, SRSLMAuxNet  # noqa: E402
from .benchmark_recipe import SRBenchmarkRecipe  # noqa: E402
from .dump import DumpEditResults  # noqa: E402
from .local_editor import LocalLearningEditor  # noqa: E402
from .rcan import RCANNet  # noqa: E402

__all__ = [
    'DumpEditResults', 'LocalLearningEditor', 'RCANNet', 'SRAugLocAuxNet', 'SRAuxNet', 'SRBenchmarkRecipe',
    'SRDGLAuxNet', 'SRSLMAuxNet'
]
