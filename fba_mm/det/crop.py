"""A random window of the batch for an auxiliary net that trains on part of the image (``aux_net.crop``).

The window is cut the same way from every feature the auxiliary net reads (the live state and the bank's
stages) and from the targets, as mmdet's ``RandomCrop`` cuts an image and its annotations: boxes are shifted
into the window and clipped to it, and a box left without area is dropped with its label and mask. The
auxiliary net then runs as on a smaller image, at full resolution, so every object it sees is handled at the
pyramid level and by the head weights that handle it in the whole image.
"""
import math
from typing import NamedTuple, Sequence

import numpy as np
import torch


def stride_of(height: int, input_height: int) -> int:
    """The power-of-two stride of a map ``height`` rows high of an input ``input_height`` rows high (padding and
    ceil-mode convs make the ratio inexact)."""
    return 2 ** round(math.log2(input_height / height))


class Window(NamedTuple):
    """A window of the batch's padded input, in input pixels: its top-left corner and its size."""
    top: int
    left: int
    height: int
    width: int

    def of(self, feature: torch.Tensor, input_height: int) -> torch.Tensor:
        """This window of an N x C x h x w map of the input at the power-of-two stride ``input_height / h``."""
        stride = stride_of(feature.shape[-2], input_height)
        return feature[..., self.top // stride:(self.top + self.height) // stride,
                       self.left // stride:(self.left + self.width) // stride]


def random_window(data_samples: Sequence, crop: float, unit: int) -> Window:
    """A random window ``crop`` of the batch's height and width (at least ``unit``), its corner and size multiples
    of ``unit`` (the auxiliary net's coarsest stride, so that every stage's grid keeps its alignment with the
    image). It starts inside every image of the batch, so no image's part of it is padding alone."""
    height, width = data_samples[0].metainfo['batch_input_shape'][:2]
    min_h = min(s.metainfo['img_shape'][0] for s in data_samples)
    min_w = min(s.metainfo['img_shape'][1] for s in data_samples)
    size_h = max(unit, round(height * crop / unit) * unit)
    size_w = max(unit, round(width * crop / unit) * unit)
    top = unit * int(torch.randint(0, max(0, min_h - size_h) // unit + 1, ()))
    left = unit * int(torch.randint(0, max(0, min_w - size_w) // unit + 1, ()))
    return Window(top, left, size_h, size_w)


def crop_sample(sample, window: Window):
    """A copy of a DetDataSample as if its image had been cut to ``window`` (shapes, boxes, labels, masks; the
    ignored instances alike)."""
    sample = sample.clone()
    img_h, img_w = sample.metainfo['img_shape'][:2]
    meta = dict(img_shape=(min(window.height, img_h - window.top), min(window.width, img_w - window.left)))
    for key in ('pad_shape', 'batch_input_shape'):
        if key in sample.metainfo:
            meta[key] = (window.height, window.width)
    sample.set_metainfo(meta)
    for key in ('gt_instances', 'ignored_instances'):
        if key in sample:
            setattr(sample, key, _crop_instances(getattr(sample, key), window, meta['img_shape']))
    return sample


def _crop_instances(instances, window: Window, img_shape):
    if 'bboxes' not in instances:
        return instances
    boxes = instances.bboxes
    tensor = getattr(boxes, 'tensor', boxes)  # mmdet's box types or a plain N x 4 tensor
    xs = (tensor[:, 0::2] - window.left).clamp(0, img_shape[1])
    ys = (tensor[:, 1::2] - window.top).clamp(0, img_shape[0])
    clipped = torch.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], 1)
    keep = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
    instances = instances[keep]  # a new InstanceData: assign new values, never change them in place
    instances.bboxes = type(boxes)(clipped[keep]) if hasattr(boxes, 'tensor') else clipped[keep]
    if 'masks' in instances:
        instances.masks = instances.masks.crop(np.array([window.left, window.top, window.left + window.width,
                                                         window.top + window.height]))
    return instances
