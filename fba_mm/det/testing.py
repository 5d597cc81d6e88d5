"""Random detection batches for tests and benchmarks (no data set needed)."""

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def random_det_batch(batch_size: int = 2, height: int = 128, width: int = None, num_classes: int = 3,
                     num_boxes: int = 3, seed: int = 0, with_mask: bool = False) -> dict:
    """A data batch as a detector's data_preprocessor expects it: uint8 images and DetDataSamples with boxes
    (and box-shaped masks)."""
    width = width or height
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append((torch.rand(3, height, width, generator=g) * 255).to(torch.uint8))
        size = torch.tensor([width, height], dtype=torch.float32)
        xy = torch.rand(num_boxes, 2, generator=g) * size * 0.6
        wh = torch.rand(num_boxes, 2, generator=g) * size * 0.3 + 12
        boxes = torch.cat([xy, torch.minimum(xy + wh, size - 1)], 1)
        sample = DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                             pad_shape=(height, width), scale_factor=(1.0, 1.0),
                                             batch_input_shape=(height, width)))
        inst = InstanceData(bboxes=boxes, labels=torch.randint(0, num_classes, (num_boxes, ), generator=g))
        if with_mask:
            from mmdet.structures.mask import BitmapMasks
            masks = torch.zeros(num_boxes, height, width, dtype=torch.uint8)
            for i, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
                masks[i, y1:y2, x1:x2] = 1
            inst.masks = BitmapMasks(masks.numpy(), height, width)
        sample.gt_instances = inst
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)
