"""Task-agnostic engine of fba_mm: imports torch and mmengine only."""
from .aux_net import AuxNet, fresh_copy
from .benchmark import BENCHMARK_RECIPES, BenchmarkRecipe, benchmark_recipe
from .checkpoint import stock_checkpoint, strip_to_architecture
from .ddp import LocalDistributedDataParallel
from .errors import ConfigError
from .feature_bank import FeatureBank
from .functional import maybe_checkpoint, scale_losses
from .hooks import IsolationCheckHook, LocalLearningHook, ModuleLossPlotHook, ModuleMemoryHook, StockCheckpointHook
from .isolation import GradientLeakError, IsolationGuard
from .layout import LAYOUTS, Layout, find_layout, partial_copy
from .local_learner import LocalLearner
from .local_step import LocalStep
from .log_processor import LocalLogProcessor
from .memory import ActivationMemoryMeter, StepMemory, TotalMemoryMeter
from .optim import LocalOptimWrapperConstructor, LocalOptimWrapperDict
from .runner import LOCAL_HOOKS, LocalLearningRunner, local_learning_defaults, runner_config
from .split import even_split_points, module_name, resolve_split_points
from .step_observer import StepObserver, StepObservers
from .weight_sources import WEIGHT_SOURCES, WeightSource

__all__ = [
    'ActivationMemoryMeter', 'AuxNet', 'ConfigError', 'FeatureBank', 'GradientLeakError', 'IsolationGuard',
    'IsolationCheckHook', 'LAYOUTS', 'Layout', 'LocalDistributedDataParallel', 'LocalLearner', 'LocalLearningHook',
    'LocalLearningRunner', 'LocalLogProcessor', 'LocalOptimWrapperConstructor', 'LocalOptimWrapperDict',
    'LocalStep', 'ModuleLossPlotHook', 'ModuleMemoryHook', 'StepMemory', 'StepObserver', 'StepObservers',
    'StockCheckpointHook', 'even_split_points', 'find_layout', 'fresh_copy', 'local_learning_defaults',
    'module_name', 'partial_copy', 'resolve_split_points', 'stock_checkpoint', 'strip_to_architecture',
    'TotalMemoryMeter', 'WEIGHT_SOURCES', 'WeightSource', 'BENCHMARK_RECIPES', 'BenchmarkRecipe',
    'benchmark_recipe', 'maybe_checkpoint', 'scale_losses', 'LOCAL_HOOKS', 'runner_config'
]
