"""How the benchmarks measure SR editors (:class:`~fba_mm.core.benchmark.BenchmarkRecipe`, registered as
``'mmagic'``)."""
from fba_mm.core.benchmark import BENCHMARK_RECIPES, BenchmarkRecipe

from .testing import random_sr_batch


@BENCHMARK_RECIPES.register_module(name='mmagic')
class SRBenchmarkRecipe(BenchmarkRecipe):
    """SR editors: a random batch of LR patches for the editor's upscale factor; checkpointing of every body block by
    the local-learning editor with K=1 (which trains exactly like the stock editor): the stock SR generators have no
    ``with_cp``.

    Example::

        recipe = benchmark_recipe('mmagic')   # fba_mm.core.benchmark
        batch = recipe.batch(cfg.model.architecture, 16, 48, 48)
    """

    one_module_learner = dict(type='LocalLearningEditor', split_points=1)
    #: an auxiliary net's copied body blocks (or DGL's convs), its tail, and the generator's own body and tail
    flop_parts = (
        (r'^aux_nets\.\d+\.(trunk|convs)\.', 'aux blocks'),
        (r'^aux_nets\.\d+\.tail\.', 'tail'),
        (r'(^|\.)generator\.body\.', 'blocks'),
        (r'(^|\.)generator\.', 'tail'),
    )

    def batch(self, architecture_cfg: dict, batch_size: int, height: int, width: int) -> dict:
        generator = architecture_cfg.generator
        scale = generator.get('upscale_factor', generator.get('upscale'))  # SwinIRNet calls it upscale
        return random_sr_batch(batch_size, height, width, scale=scale)
