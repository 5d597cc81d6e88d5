"""The runner hooks of local learning, one concern each (as mmengine's own hooks are split)."""
from .isolation_check_hook import IsolationCheckHook
from .local_learning_hook import LocalLearningHook
from .module_loss_plot_hook import ModuleLossPlotHook
from .module_memory_hook import ModuleMemoryHook
from .stock_checkpoint_hook import StockCheckpointHook

__all__ = ['IsolationCheckHook', 'LocalLearningHook', 'ModuleLossPlotHook', 'ModuleMemoryHook', 'StockCheckpointHook']
