"""Random SR batches and the checkpointed variants, for tests and benchmarks (no data set needed)."""
import copy

import torch
from mmagic.structures import DataSample


def random_sr_batch(batch_size: int = 2, height: int = 16, width: int = None, scale: int = 2, seed: int = 0) -> dict:
    """A data batch as an editor's data_preprocessor expects it: LR images in [0, 255] and DataSamples holding
    HR ``gt_img`` of ``scale`` times the size."""
    width = width or height
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.rand(3, height, width, generator=g) * 255)
        sample = DataSample(metainfo=dict(scale=scale))
        sample.gt_img = torch.rand(3, height * scale, width * scale, generator=g) * 255
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def benchmark_batch(architecture_cfg: dict, batch_size: int, height: int, width: int) -> dict:
    """A random batch of ``height x width`` LR patches for the editor's upscale factor."""
    generator = architecture_cfg.generator
    scale = generator.get('upscale_factor', generator.get('upscale'))  # SwinIRNet calls it upscale
    return random_sr_batch(batch_size, height, width, scale=scale)


def end_to_end_checkpointed(architecture_cfg: dict):
    """End-to-end training with activation checkpointing of every body block. The stock SR generators have no
    ``with_cp``, so this is the local-learning editor with K=1 (which trains exactly like the stock editor)."""
    return dict(type='LocalLearningEditor', architecture=architecture_cfg, split_points=1, with_cp=True), True


def fba_checkpointed(fba_cfg: dict) -> dict:
    """The FBA model with activation checkpointing in its modules and its auxiliary nets' copied blocks."""
    cfg = copy.deepcopy(fba_cfg)
    cfg.with_cp = True
    cfg.aux_net = dict(cfg.get('aux_net', {}), with_cp=True)
    return cfg


#: the parts of an SR editor in the FLOP breakdown (:func:`fba_mm.core.benchmark.count_flops`), first match wins:
#: an auxiliary net's copied body blocks (or DGL's convs), its tail, and the generator's own body and tail
FLOP_PARTS = (
    (r'^aux_nets\.\d+\.(trunk|convs)\.', 'aux blocks'),
    (r'^aux_nets\.\d+\.tail\.', 'tail'),
    (r'(^|\.)generator\.body\.', 'blocks'),
    (r'(^|\.)generator\.', 'tail'),
)
