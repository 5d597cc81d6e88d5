"""Task-agnostic engine of fba_mm: imports torch and mmengine only."""
from .aux_net import WEIGHT_SOURCES, AuxNet, fresh_copy
from .checkpoint import stock_checkpoint, strip_to_architecture
from .ddp import LocalDistributedDataParallel
from .errors import ConfigError
from .feature_bank import FeatureBank
from .hooks import IsolationCheckHook, LocalLearningHook, ModuleLossPlotHook, ModuleMemoryHook, StockCheckpointHook
from .layout import LAYOUTS, Layout, find_layout, partial_copy
from .local_learner import LocalLearner, LocalStep
from .log_processor import LocalLogProcessor
from .memory import ActivationMemoryMeter, TotalMemoryMeter
from .optim import LocalOptimWrapperConstructor, LocalOptimWrapperDict
from .split import even_split_points, module_name, resolve_split_points

__all__ = [
    'ActivationMemoryMeter', 'AuxNet', 'ConfigError', 'FeatureBank', 'IsolationCheckHook', 'LAYOUTS', 'Layout',
    'LocalDistributedDataParallel', 'LocalLearner', 'LocalLearningHook', 'LocalLogProcessor',
    'LocalOptimWrapperConstructor', 'LocalOptimWrapperDict', 'LocalStep', 'ModuleLossPlotHook', 'ModuleMemoryHook',
    'StockCheckpointHook', 'even_split_points', 'find_layout', 'fresh_copy', 'module_name', 'partial_copy',
    'resolve_split_points', 'stock_checkpoint', 'strip_to_architecture', 'TotalMemoryMeter', 'WEIGHT_SOURCES'
]
