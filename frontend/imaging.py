"""Image helpers for showing results: comparison split, zoomed crops, mask overlays (Pillow only)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]


def decode_image(data: bytes) -> Image.Image:
    """PNG/JPEG/... bytes -> an RGB image."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def split_view(left: Image.Image, right: Image.Image, split: float, line: RGB = (255, 255, 255)) -> Image.Image:
    """`left` left of x = split * width and `right` after it, with a line at the seam (a comparison slider).

    `left` is resized to `right`'s size (bicubic), so an input and its upscaled output can be compared directly.
    """
    left = left.resize(right.size, Image.Resampling.BICUBIC) if left.size != right.size else left
    seam = round(min(max(split, 0.0), 1.0) * right.width)
    out = right.copy()
    out.paste(left.crop((0, 0, seam, right.height)), (0, 0))
    ImageDraw.Draw(out).line([(seam, 0), (seam, right.height)], fill=line, width=max(1, right.width // 300))
    return out


def crop_window(size: tuple[int, int], center: tuple[float, float], zoom: float) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) box of 1/zoom of an image of `size`, centred at `center` (fractions), kept inside."""
    width, height = size
    w, h = max(1, round(width / zoom)), max(1, round(height / zoom))
    x0 = min(max(round(center[0] * width - w / 2), 0), width - w)
    y0 = min(max(round(center[1] * height - h / 2), 0), height - h)
    return x0, y0, x0 + w, y0 + h


def zoomed_pair(
    low: Image.Image, high: Image.Image, center: tuple[float, float], zoom: float, display_px: int = 480
) -> tuple[Image.Image, Image.Image]:
    """The same region of an input and its upscaled output, both enlarged with nearest-neighbour to `display_px`.

    Nearest-neighbour keeps every pixel visible as a square, so the input's blockiness and the output's detail
    can be told apart.
    """
    box_high = crop_window(high.size, center, zoom)
    sx, sy = low.width / high.width, low.height / high.height
    box_low = (
        int(box_high[0] * sx),
        int(box_high[1] * sy),
        max(int(box_high[0] * sx) + 1, round(box_high[2] * sx)),
        max(int(box_high[1] * sy) + 1, round(box_high[3] * sy)),
    )
    crop_high, crop_low = high.crop(box_high), low.crop(box_low)
    scale = display_px / max(crop_high.size)
    size = (max(1, round(crop_high.width * scale)), max(1, round(crop_high.height * scale)))
    return crop_low.resize(size, Image.Resampling.NEAREST), crop_high.resize(size, Image.Resampling.NEAREST)


def overlay(image: Image.Image, mask: Image.Image, palette: Mapping[int, RGB], opacity: float) -> Image.Image:
    """Colour each pixel of `image` by its class in `mask` (mode "L" or "P", values are class ids) at `opacity`.

    Classes missing from `palette` (e.g. background) stay uncoloured.
    """
    ids = mask.convert("L")
    lut: list[int] = []
    for class_id in range(256):
        lut.extend(palette.get(class_id, (0, 0, 0)))
    colours = ids.convert("P")
    colours.putpalette(lut)
    coloured = colours.convert("RGB").resize(image.size, Image.Resampling.NEAREST)
    alpha = ids.point(lambda v: round(255 * opacity) if v in palette else 0).resize(image.size)
    return Image.composite(coloured, image.convert("RGB"), alpha)


def legend(entries: Sequence[tuple[str, RGB]], swatch_px: int = 14) -> Image.Image:
    """A small image listing `(name, colour)` entries, one swatch and name per row, for a mask legend."""
    row = swatch_px + 6
    width = 12 + swatch_px + 8 * max((len(name) for name, _ in entries), default=1)
    out = Image.new("RGB", (width, max(row * len(entries), row) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for i, (name, colour) in enumerate(entries):
        y = 4 + i * row
        draw.rectangle([4, y, 4 + swatch_px, y + swatch_px], fill=colour, outline=(60, 60, 60))
        draw.text((10 + swatch_px, y + 1), name, fill=(0, 0, 0))
    return out
