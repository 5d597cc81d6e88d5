"""A small synthetic detection set in COCO format, hard enough that methods separate.

Six classes (circle, square, triangle, star, ring, cross) of random colour, drawn on backgrounds mixing smooth
gradients, stripes and noise, with what makes detection hard on real photographs:

- scale variation: radii from 7 % to 30 % of the image, log-uniform (at 128 px: boxes of about 16-77 px);
- occlusion: objects overlap, later ones drawn on top; an object is kept only while at least half of it stays
  visible, and its box, mask and area are those of the visible part (COCO's convention);
- clutter: unlabelled distractors (irregular blobs and line strokes) that occlude objects and look like them;
- 2-6 objects per image, so recall counts as much as precision.

A ring's hole shows what lies beneath it, so ring and circle differ by shape only. Masks are exact RLEs (for Mask
R-CNN). Deterministic for a given seed.

    python tools/misc/make_demo_det.py data/demo_det --train 400 --val 150 --size 128
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
from pycocotools import mask as mask_util

CLASSES = ('circle', 'square', 'triangle', 'star', 'ring', 'cross')
#: bumped whenever the images change, so that an existing set is regenerated
VERSION = 3
MIN_VISIBLE = 0.5


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


def _ring(cx, cy, r, n, phase=0.0):
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False) + phase
    return np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)


def _contours(rng: np.random.Generator, label: int, size: int) -> List[np.ndarray]:
    """The contours of one shape of class ``label`` (-1: a distractor blob), filled even-odd."""
    r = size * math.exp(rng.uniform(math.log(0.07), math.log(0.3)))
    cx, cy = rng.uniform(0.6 * r, size - 0.6 * r, 2)  # may be cut by the border a little, as in photographs
    phase = rng.uniform(0, 2 * math.pi)
    if label == 0:
        shapes = [_ring(cx, cy, r, 32)]
    elif label == 1:
        shapes = [_ring(cx, cy, r, 4, phase)]
    elif label == 2:
        shapes = [_ring(cx, cy, r, 3, phase)]
    elif label == 3:  # five-pointed star
        outer, inner = _ring(cx, cy, r, 5, phase), _ring(cx, cy, 0.45 * r, 5, phase + math.pi / 5)
        shapes = [np.stack([outer, inner], 1).reshape(-1, 2)]
    elif label == 4:  # ring: the hole is part of the background
        shapes = [_ring(cx, cy, r, 32), _ring(cx, cy, rng.uniform(0.45, 0.65) * r, 32)]
    elif label == 5:  # plus-shaped cross, arms a third of its width
        a, w = r, r / 3
        pts = np.array([[w, a], [w, w], [a, w], [a, -w], [w, -w], [w, -a],
                        [-w, -a], [-w, -w], [-a, -w], [-a, w], [-w, w], [-w, a]])
        rot = np.array([[math.cos(phase), -math.sin(phase)], [math.sin(phase), math.cos(phase)]])
        shapes = [pts @ rot.T + [cx, cy]]
    else:  # distractor: an irregular blob, neither star nor polygon
        n = int(rng.integers(5, 9))
        radii = r * rng.uniform(0.45, 1.0, n)
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        shapes = [np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)]
    return [np.round(s).astype(np.int32) for s in shapes]


def _mask(item: dict, shape) -> np.ndarray:
    """The pixels ``item`` covers (1) on an empty canvas of ``shape``."""
    mask = np.zeros(shape, np.uint8)
    if item['kind'] == 'line':
        cv2.line(mask, *item['ends'], 1, item['width'])
    else:
        cv2.fillPoly(mask, item['contours'], 1)
    return mask


def _render(img: np.ndarray, owner: np.ndarray, item: dict, index: int) -> None:
    """Draw ``item`` over ``img`` and mark its pixels as owned by ``index`` (the pixels it covers now)."""
    covered = _mask(item, owner.shape) > 0
    owner[covered] = index
    img[covered] = item['colour']


def make_split(root: str, split: str, num_images: int, size: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, split)
    os.makedirs(img_dir, exist_ok=True)
    images: List[Dict] = []
    annotations: List[Dict] = []
    for i in range(num_images):
        img = _background(rng, size)
        owner = np.full((size, size), -1, np.int32)  # which item shows at each pixel
        items: List[dict] = []
        num_objects, num_clutter = int(rng.integers(2, 7)), int(rng.integers(1, 5))
        kinds = ['object'] * num_objects + ['blob'] * (num_clutter // 2 + num_clutter % 2) + ['line'] * (
            num_clutter // 2)
        for kind in rng.permutation(kinds):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            if kind == 'line':
                ends = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
                item = dict(kind='line', ends=ends, width=int(rng.integers(1, 4)), colour=colour)
            else:
                label = int(rng.integers(0, len(CLASSES))) if kind == 'object' else -1
                item = dict(kind=kind, label=label, contours=_contours(rng, label, size), colour=colour)
                item['area'] = int(_mask(item, (size, size)).sum())  # unoccluded, within the image
            trial_img, trial_owner = img.copy(), owner.copy()
            _render(trial_img, trial_owner, item, len(items))
            # keep it only if every object stays at least half visible, itself included
            ok = True
            for j, other in enumerate(items + [item]):
                if other['kind'] == 'object':
                    full = other['area']
                    if full == 0 or (trial_owner == j).sum() < MIN_VISIBLE * full:
                        ok = False
                        break
            if ok:
                img, owner = trial_img, trial_owner
                items.append(item)
        for j, item in enumerate(items):
            if item['kind'] != 'object':
                continue
            visible = np.asfortranarray((owner == j).astype(np.uint8))
            ys, xs = np.nonzero(visible)
            rle = mask_util.encode(visible)
            rle['counts'] = rle['counts'].decode('ascii')
            box = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
            annotations.append(dict(id=len(annotations) + 1, image_id=i + 1, category_id=item['label'] + 1,
                                    bbox=box, area=float(visible.sum()), iscrowd=0, segmentation=rle))
        name = f'{i:05d}.png'
        cv2.imwrite(osp.join(img_dir, name), img[..., ::-1])
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    ann_file = osp.join(root, f'{split}.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]), f)
    return ann_file


def make_demo_det(root: str, num_train: int = 400, num_val: int = 150, size: int = 128, seed: int = 0) -> str:
    """Writes ``root/{train,val}/*.png`` and ``root/{train,val}.json``; returns ``root``. Does nothing when the
    set is already there with the same settings."""
    stamp = osp.join(root, 'settings.json')
    settings = dict(num_train=num_train, num_val=num_val, size=size, seed=seed, version=VERSION)
    if osp.exists(stamp) and json.load(open(stamp)) == settings:
        return root
    make_split(root, 'train', num_train, size, seed)
    make_split(root, 'val', num_val, size, seed + 1)
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return root
