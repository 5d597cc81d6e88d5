"""fba_mm for mmdet: local-learning detectors (imports mmdet, never mmagic)."""
from mmdet.utils import register_all_modules

import fba_mm  # noqa: F401  (stack fixes and the engine)

register_all_modules(init_default_scope=False)

from .aux_nets import DetAuxNet, SLMAuxNet  # noqa: E402
from .baseline_aux_nets import AugLocAuxNet, DGLAuxNet  # noqa: E402
from .benchmark_recipe import DetBenchmarkRecipe  # noqa: E402
from .feature_bank_neck import FeatureBankNeck  # noqa: E402
from .local_detector import LocalLearningDetector  # noqa: E402

__all__ = [
    'AugLocAuxNet', 'DetAuxNet', 'DetBenchmarkRecipe', 'DGLAuxNet', 'FeatureBankNeck', 'LocalLearningDetector',
    'SLMAuxNet'
]
