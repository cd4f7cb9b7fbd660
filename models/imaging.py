"""Torch-free image decoding and encoding shared by the gateway (validation) and tasks (decoding)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from models.errors import TaskInputError

#: Formats we decode; anything else is refused with 415 before it reaches a worker.
SUPPORTED_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    mode: str


def probe_image(data: bytes, max_pixels: int) -> ImageInfo:
    """Read the header and check the pixels decode, without keeping the image.

    Raises:
        TaskInputError: code "unsupported_media" for non-images, "corrupt_image" for truncated or broken files,
            "image_too_large" past `max_pixels`, "empty_image" for zero-size images.
    """
    if not data:
        raise TaskInputError("the uploaded file is empty", code="empty_file")
    try:
        with warnings.catch_warnings():
            # our own max_pixels bounds the size; Pillow's bomb warning would only duplicate it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or "?"
                width, height = img.size
                mode = img.mode
                if fmt not in SUPPORTED_IMAGE_FORMATS:
                    raise TaskInputError(
                        f"image format {fmt} is not supported; send one of {', '.join(SUPPORTED_IMAGE_FORMATS)}",
                        code="unsupported_media",
                    )
                _check_size(width, height, max_pixels)
                img.load()  # decodes every pixel: catches truncated files that have a valid header
    except TaskInputError:
        raise
    except UnidentifiedImageError as exc:
        raise TaskInputError("the file is not an image Pillow can read", code="unsupported_media") from exc
    except Image.DecompressionBombError as exc:
        raise TaskInputError(str(exc), code="image_too_large") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise TaskInputError(f"the image is corrupt or truncated: {exc}", code="corrupt_image") from exc
    return ImageInfo(format=fmt, width=width, height=height, mode=mode)


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise TaskInputError(f"the image has zero size ({width}x{height})", code="empty_image")
    if width * height > max_pixels:
        raise TaskInputError(
            f"the image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
            code="image_too_large",
            details={"width": width, "height": height, "max_pixels": max_pixels},
        )


def decode_rgb(data: bytes, max_pixels: int) -> NDArray[np.uint8]:
    """Decode an image file to an RGB array (H, W, 3) uint8; raises `TaskInputError` as `probe_image` does."""
    probe_image(data, max_pixels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def encode_image(rgb: NDArray[np.uint8], fmt: str = "png") -> bytes:
    """Encode an (H, W, 3) or (H, W) uint8 array as PNG (lossless, fast compression) or WebP (lossless)."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb)
    if fmt == "png":
        img.save(buf, format="PNG", compress_level=1)
    elif fmt == "webp":
        img.save(buf, format="WEBP", lossless=True, quality=80)
    else:
        raise ValueError(f"unsupported output format {fmt!r}; expected 'png' or 'webp'")
    return buf.getvalue()
