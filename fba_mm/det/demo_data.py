"""A small synthetic detection set in COCO format: shapes on textured backgrounds.

Three classes (circle, square, triangle) of random colour and size, 1-4 per image, drawn on backgrounds
mixing smooth gradients, stripes and noise, so that colour alone does not give the class away. Boxes,
polygons (for Mask R-CNN) and areas are exact. Deterministic for a given seed.

    python tools/misc/make_demo_det.py data/demo_det --train 200 --val 50 --size 128
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle')


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.zeros((size, size, 3), np.float32)
    for c in range(3):
        a, b, phase = rng.uniform(-1, 1, 3)
        freq = rng.uniform(2, 12)
        stripes = np.sin(2 * math.pi * freq * (a * xx + b * yy) + phase * math.pi)
        img[..., c] = 0.45 + 0.25 * (a * xx + b * yy) + 0.12 * stripes
    img += rng.normal(0, 0.06, img.shape)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _shape_polygon(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    r = rng.uniform(0.09, 0.22) * size
    cx, cy = rng.uniform(r, size - r, 2)
    if label == 0:
        angles = np.linspace(0, 2 * math.pi, 32, endpoint=False)
    elif label == 1:
        angles = np.linspace(0, 2 * math.pi, 4, endpoint=False) + rng.uniform(0, math.pi / 2)
    else:
        angles = np.linspace(0, 2 * math.pi, 3, endpoint=False) + rng.uniform(0, 2 * math.pi)
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1).astype(np.float32)


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def make_split(root: str, split: str, num_images: int, size: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, split)
    os.makedirs(img_dir, exist_ok=True)
    images: List[Dict] = []
    annotations: List[Dict] = []
    for i in range(num_images):
        img = _background(rng, size)
        boxes = []
        for _ in range(int(rng.integers(1, 5))):
            label = int(rng.integers(0, len(CLASSES)))
            poly = _shape_polygon(rng, label, size)
            x1, y1 = poly.min(0)
            x2, y2 = poly.max(0)
            box = [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]
            if any(_iou(box, b) > 0 for b in boxes):
                continue  # keep objects apart: every shape fully visible
            boxes.append(box)
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            cv2.fillPoly(img, [np.round(poly).astype(np.int32)], colour, lineType=cv2.LINE_AA)
            annotations.append(dict(id=len(annotations) + 1, image_id=i + 1, category_id=label + 1, bbox=box,
                                    area=float(cv2.contourArea(poly)), iscrowd=0,
                                    segmentation=[poly.reshape(-1).round(2).tolist()]))
        name = f'{i:05d}.png'
        cv2.imwrite(osp.join(img_dir, name), img[..., ::-1])
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    ann_file = osp.join(root, f'{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]), f)
    return ann_file


def make_demo_det(root: str, num_train: int = 200, num_val: int = 50, size: int = 128, seed: int = 0) -> str:
    """Writes ``root/{train,val}/*.png`` and ``root/{train,val}.json``; returns ``root``. Does nothing when the
    set is already there with the same settings."""
    stamp = osp.join(root, 'settings.json')
    settings = dict(num_train=num_train, num_val=num_val, size=size, seed=seed, version=1)
    if osp.exists(stamp) and json.load(open(stamp)) == settings:
        return root
    make_split(root, 'train', num_train, size, seed)
    make_split(root, 'val', num_val, size, seed + 1)
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return root
