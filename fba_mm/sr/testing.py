"""Random SR batches for tests and benchmarks (no data set needed)."""

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
