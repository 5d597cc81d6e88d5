"""The runner of local learning: mmengine's ``Runner`` with the settings every local-learning run needs."""
import copy

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

#: what a local-learning run adds to the stock hooks (``default_hooks`` keys), where the config does not set them
LOCAL_HOOKS = dict(local_learning=dict(type='LocalLearningHook'), module_memory=dict(type='ModuleMemoryHook'),
                   stock_checkpoint=dict(type='StockCheckpointHook'), module_loss_plot=dict(type='ModuleLossPlotHook'))


def local_learning_defaults(cfg: Config) -> Config:
    """``cfg`` with what a local-learning run needs and the config leaves unset: one optimizer wrapper per module
    (``optim_wrapper.constructor``, where it is unset or mmengine's default), one DDP per module
    (``model_wrapper_cfg``), the local-learning hooks beside the stock ``default_hooks`` and the compact log line
    (``log_processor``). What the config sets stays as it is."""
    cfg = copy.deepcopy(cfg)
    # mmagic's stock configs name mmengine's default constructor: it is the default here too, replaced alike
    if cfg.get('optim_wrapper') is not None and \
            cfg.optim_wrapper.get('constructor', 'DefaultOptimWrapperConstructor') == 'DefaultOptimWrapperConstructor':
        cfg.optim_wrapper['constructor'] = 'LocalOptimWrapperConstructor'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='LocalDistributedDataParallel')
    stock_hooks = dict(cfg.get('default_hooks') or {})
    cfg.default_hooks = {**stock_hooks, **{k: v for k, v in LOCAL_HOOKS.items() if k not in stock_hooks}}
    log_processor = dict(cfg.get('log_processor') or {})
    if log_processor.get('type', 'LogProcessor') == 'LogProcessor':
        cfg.log_processor = {**log_processor, 'type': 'LocalLogProcessor'}
    return cfg


def runner_config(cfg: Config) -> Config:
    """``cfg`` as the runner its ``runner_type`` names reads it (:func:`local_learning_defaults` filled in for
    ``LocalLearningRunner``): what a tool that builds the model and optimizers itself, as the runner would, reads."""
    return local_learning_defaults(cfg) if cfg.get('runner_type') == 'LocalLearningRunner' else cfg


@RUNNERS.register_module()
class LocalLearningRunner(Runner):
    """mmengine's ``Runner`` for a local-learning model: it fills in :func:`local_learning_defaults` (the per-module
    optimizer constructor and DDP wrapper, the local-learning hooks beside the stock ones, the compact log line)
    and is otherwise the stock runner. A key the config sets keeps its value, so the full form (every key written
    out) works as well. fba_mm's and mmdet's ``tools/train.py`` build it from ``runner_type`` (mmagic's builds the
    plain ``Runner`` whatever the config says)::

        _base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
        custom_imports = dict(imports=['fba_mm.det'], allow_failed_imports=False)
        runner_type = 'LocalLearningRunner'
        model = dict(_delete_=True, type='LocalLearningDetector', architecture={{_base_.model}},
                     split_points=['layer2.2', 'layer3.1', 'layer4'])
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> Runner:
        return super().from_cfg(local_learning_defaults(cfg))
