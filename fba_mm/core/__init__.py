"""Task-agnostic engine of fba_mm: imports torch and mmengine only."""
from .checkpoint import stock_checkpoint, strip_to_architecture
from .ddp import LocalDistributedDataParallel
from .feature_bank import FeatureBank
from .hook import LocalLearningHook
from .local_learner import LocalLearner, LocalStep, module_name
from .memory import ActivationMemoryMeter
from .optim import LocalOptimWrapperConstructor, LocalOptimWrapperDict
from .split import ConfigError, even_split_points, resolve_split_points

__all__ = [
    'ActivationMemoryMeter', 'ConfigError', 'FeatureBank', 'LocalDistributedDataParallel', 'LocalLearner',
    'LocalLearningHook', 'LocalOptimWrapperConstructor', 'LocalOptimWrapperDict', 'LocalStep', 'even_split_points',
    'module_name', 'resolve_split_points', 'stock_checkpoint', 'strip_to_architecture'
]
