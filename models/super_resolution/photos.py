"""The real photos scikit-image ships (no download), split into training and held-out sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage
import skimage.data
from numpy.typing import NDArray

#: Photos the demo model trains on (colour and grey; grey ones are replicated to RGB).
TRAIN_PHOTOS: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "camera",
    "moon",
    "brick",
    "grass",
    "gravel",
    "cell",
    "page",
    "text",
)
#: Never seen in training; PSNR/SSIM are reported on these. motorcycle_left stays out of both sets: it is the
#: other half of motorcycle_right's stereo pair, nearly the same picture, so training on it would leak.
HELDOUT_PHOTOS: tuple[str, ...] = ("chelsea", "coins", "motorcycle_right")


def load_photo(name: str) -> NDArray[np.uint8]:
    """An (H, W, 3) uint8 RGB photo from scikit-image's bundled data."""
    if name.startswith("motorcycle_"):
        path = Path(skimage.data.__file__).parent / f"{name}.png"
        image = skimage.io.imread(path)
    else:
        image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)
