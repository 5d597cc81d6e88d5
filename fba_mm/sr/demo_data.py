"""A small SR set from the colour photographs scikit-image ships (no download).

Train split: astronaut, rocket, motorcycle, immunohistochemistry, hubble_deep_field and retina, cut into
overlapping HR sub-images (as mmagic's DIV2K ``*_sub`` sets are). Val split: chelsea and coffee, whole
(whole photos held out, so val never overlaps train). HR images are cropped to a multiple of 12 (Set5's
``GTmod12``); LR images are made with mmagic's MATLAB-like bicubic downsampling, the degradation of DIV2K's
``*_LR_bicubic`` images that the stock SR configs train on.

    python tools/misc/make_demo_sr.py data/demo_sr --scales 2 3 4

Layout (``BasicImageDataset`` with ``data_prefix=dict(img='LRbicx2', gt='HR')``)::

    root/{train,val}/HR/<name>.png
    root/{train,val}/LRbicx{2,3,4}/<name>.png
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

TRAIN_PHOTOS = ('astronaut', 'rocket', 'motorcycle', 'immunohistochemistry', 'hubble_deep_field', 'retina')
VAL_PHOTOS = ('chelsea', 'coffee')


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo from skimage.data (all of these ship inside scikit-image)."""
    from skimage import data
    img = data.stereo_motorcycle()[0] if name == 'motorcycle' else getattr(data, name)()
    if name == 'retina':  # 1411 px, mostly black border: keep the fundus, at half size
        img = cv2.resize(img[200:1200, 200:1200], (500, 500), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[..., :3])


def bicubic_downsample(img: np.ndarray, scale: int) -> np.ndarray:
    """mmagic's MATLAB-like bicubic downsampling (``MATLABLikeResize``), rounded back to uint8."""
    from mmagic.datasets.transforms import MATLABLikeResize
    out = MATLABLikeResize(keys=[], scale=1 / scale)._resize(img.astype(np.float32))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def mod_crop(img: np.ndarray, mod: int = 12) -> np.ndarray:
    h, w = img.shape[:2]
    return img[:h - h % mod, :w - w % mod]


def sub_images(img: np.ndarray, size: int, step: int) -> Dict[str, np.ndarray]:
    h, w = img.shape[:2]
    ys = list(range(0, h - size + 1, step))
    xs = list(range(0, w - size + 1, step))
    return {f's{i:03d}': img[y:y + size, x:x + size] for i, (y, x) in enumerate((y, x) for y in ys for x in xs)}


def _write(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


def make_demo_sr(root: str, scales: Sequence[int] = (2, 3, 4), sub_size: int = 192, sub_step: int = 144) -> str:
    """Writes the demo set under ``root``; returns ``root``. Does nothing when it is already there with the same
    settings."""
    stamp = osp.join(root, 'settings.json')
    settings = dict(scales=list(scales), sub_size=sub_size, sub_step=sub_step, train=TRAIN_PHOTOS, val=VAL_PHOTOS,
                    version=1)
    if osp.exists(stamp) and json.load(open(stamp)) == json.loads(json.dumps(settings)):
        return root
    for split, photos in (('train', TRAIN_PHOTOS), ('val', VAL_PHOTOS)):
        for photo in photos:
            hr = mod_crop(load_photo(photo))
            pieces = {f'{photo}_{k}': v for k, v in sub_images(hr, sub_size, sub_step).items()} \
                if split == 'train' else {photo: hr}
            for name, piece in pieces.items():
                _write(osp.join(root, split, 'HR', f'{name}.png'), piece)
                for s in scales:
                    _write(osp.join(root, split, f'LRbicx{s}', f'{name}.png'), bicubic_downsample(piece, s))
    with open(stamp, 'w') as f:
        json.dump(settings, f)
    return root
