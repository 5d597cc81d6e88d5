"""rescale_sample's gt masks for a half-resolution auxiliary head, in a batch of images of different sizes.

``DetDataPreprocessor(pad_mask=True)`` pads every image's gt masks to the *batch* shape, while each sample's
``pad_shape`` is its own image's. The half-resolution targets must be what stock mmdet makes from the same images
built at half size (boxes and masks halved): the mask arrays halved from their own (batch) shape, not stretched to
the smaller image's rescaled ``pad_shape``, which squeezes its masks unevenly while its boxes shrink evenly. Checked
on what Mask R-CNN's mask head trains on (``mask_target``, the gt boxes as proposals, 28x28), image by image.

The sizes are chosen so that the half-size images, padded to 32 by the same preprocessor, give the full batch's
shape halved (what avg_pool2d(2, ceil_mode=True) of the full batch's features gives); the smaller image's
``pad_shape`` has another aspect ratio than the batch's. Box and rectangle coordinates are even, so halving is exact.
"""
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks, mask_target
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import fba_mm.det  # noqa: F401
from fba_mm.det.rescale import rescale_sample

SIZES = [(128, 192), (96, 64)]  # (height, width): batch 128x192; the second image's pad_shape is 96x64
BOXES = [[[16, 8, 112, 72], [120, 40, 190, 126]], [[4, 10, 60, 90], [20, 50, 40, 94]]]  # x1, y1, x2, y2


def batch(scale: int = 1) -> dict:
    """The two images with their boxes and box-shaped masks, every size and coordinate divided by ``scale``."""
    inputs, samples = [], []
    for (h, w), boxes in zip(SIZES, BOXES):
        h, w = h // scale, w // scale
        boxes = torch.tensor(boxes) // scale
        masks = np.zeros((len(boxes), h, w), dtype=np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
            masks[i, y1:y2, x1:x2] = 1
        inputs.append(torch.zeros(3, h, w, dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=boxes.float(), labels=torch.zeros(len(boxes), dtype=torch.long),
                                           masks=BitmapMasks(masks, h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def preprocess(data: dict) -> list:
    with DefaultScope.overwrite_default_scope('mmdet'):
        preprocessor = MODELS.build(dict(type='DetDataPreprocessor', mean=[0.0] * 3, std=[1.0] * 3,
                                         pad_size_divisor=32, pad_mask=True))
    return preprocessor(data, training=True)['data_samples']


def targets(sample) -> torch.Tensor:
    """Mask R-CNN's mask targets for the gt boxes as proposals."""
    gt = sample.gt_instances
    return mask_target([gt.bboxes], [torch.arange(len(gt))], [gt.masks], ConfigDict(mask_size=28))


def test_rescaled_masks_match_the_half_resolution_batch():
    full, half = preprocess(batch()), preprocess(batch(scale=2))
    assert full[0].batch_input_shape == (128, 192) and half[0].batch_input_shape == (64, 96)
    for i, (sample, stock) in enumerate(zip(full, half)):
        rescaled = rescale_sample(sample, 0.5)
        assert rescaled.batch_input_shape == stock.batch_input_shape
        torch.testing.assert_close(rescaled.gt_instances.bboxes, stock.gt_instances.bboxes)
        torch.testing.assert_close(targets(rescaled), targets(stock), msg=lambda m: f'image {i}, mask targets: {m}')
        assert rescaled.gt_instances.masks.masks.shape == stock.gt_instances.masks.masks.shape, f'image {i}'
        assert sample.gt_instances.masks.masks.shape[1:] == (128, 192)  # the full-resolution targets are untouched
