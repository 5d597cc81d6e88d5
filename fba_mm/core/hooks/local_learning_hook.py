"""The set-up check of a local-learning run."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ..ddp import LocalDistributedDataParallel
from ..errors import ConfigError
from ..local_learner import LocalLearner


def learner_of(runner, hook: str) -> LocalLearner:
    """The runner's local learner (inside its DDP wrapper), or a ConfigError that names ``hook``."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not isinstance(model, LocalLearner):
        raise ConfigError(f'{hook} is for local-learning models, but the model is {type(model).__name__}. Wrap the '
                          'stock model in a local learner (model=dict(type=..., architecture=..., split_points=...)) '
                          'or remove the hook.')
    return model


@HOOKS.register_module()
class LocalLearningHook(Hook):
    """Refuses, before training starts, a set-up that would train nothing or train wrongly without a word, and
    logs how the model is cut.

    Refused: a model that is not a local learner; an optimizer wrapper that is not split per module; distributed
    training through a plain DDP (which calls ``forward(mode='loss')`` once and never runs the per-module steps);
    ``--resume`` from an auxiliary-free ``*_stock.pth`` (it holds no optimizer state, so the resume would not be
    exact).

    Example (``default_hooks`` merges with the stock config's, whose ``custom_hooks`` stay as they are)::

        default_hooks = dict(local_learning=dict(type='LocalLearningHook'))
    """

    def before_train(self, runner) -> None:
        learner = learner_of(runner, type(self).__name__)
        learner.check_optim_wrapper(runner.optim_wrapper)
        if runner.distributed and not isinstance(runner.model, LocalDistributedDataParallel):
            raise ConfigError(
                f'distributed training wraps the model in {type(runner.model).__name__}, which runs one forward and '
                'one backward per iteration and would bypass the per-module steps. Set '
                "model_wrapper_cfg=dict(type='LocalDistributedDataParallel') in the config.")
        prefix = learner.prefix_blocks
        runner.logger.info(
            f'local learning: {learner.num_modules} modules, split_points={learner.split_points}, gradient-free '
            f'prefix: {f"{prefix[0]}..{prefix[-1]}" if prefix else "none"}, '
            f'feature bank {"on" if learner.feature_bank.enabled else "off"}')
        for k in range(learner.num_modules):
            blocks = learner.module_blocks(k)
            runner.logger.info(f'  m{k + 1}: blocks {blocks[0]}..{blocks[-1]} ({len(blocks)})')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        stripped = (checkpoint.get('meta') or {}).get('fba_mm')
        if getattr(runner, '_resume', False) and stripped and 'optimizer' not in checkpoint:
            raise ConfigError(
                'this is an auxiliary-free checkpoint for the stock config (no auxiliary nets, optimizer state or '
                'message hub), so training cannot resume from it exactly. Resume from the full checkpoint beside it '
                '(iter_N.pth, not iter_N_stock.pth), or start a new run from its weights with load_from=... and no '
                '--resume (the auxiliary nets are then copied from the loaded weights).')
