from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from models.errors import TaskInputError
from models.imaging import decode_rgb, encode_image, probe_image


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"GIF89a but not really", "unsupported_media"),
        (b"plain text", "unsupported_media"),
        (_png((64, 64))[:60], "corrupt_image"),
        (_png((300, 300)), "image_too_large"),
    ],
)
def test_probe_rejects_bad_images_with_stable_codes(data: bytes, code: str) -> None:
    with pytest.raises(TaskInputError) as info:
        probe_image(data, max_pixels=256 * 256)
    assert info.value.code == code


def test_decode_gives_rgb_and_encode_round_trips() -> None:
    rgb = decode_rgb(_png((5, 3), "L"), max_pixels=100)
    assert rgb.shape == (3, 5, 3) and rgb.dtype == np.uint8
    back = decode_rgb(encode_image(rgb, "webp"), max_pixels=100)
    assert np.array_equal(back, rgb)
