"""Result views: the comparison split, zoomed crops of the same region, mask overlays and their legend."""

from __future__ import annotations

from PIL import Image

from frontend.imaging import crop_window, decode_image, encode_png, legend, overlay, split_view, zoomed_pair


def test_split_view_shows_the_resized_input_left_of_the_seam_and_the_output_right_of_it() -> None:
    low = Image.new("RGB", (10, 8), (255, 0, 0))
    high = Image.new("RGB", (40, 32), (0, 0, 255))
    out = split_view(low, high, 0.25, line=(0, 255, 0))
    assert out.size == (40, 32)
    assert out.getpixel((2, 16)) == (255, 0, 0)
    assert out.getpixel((10, 16)) == (0, 255, 0)
    assert out.getpixel((30, 16)) == (0, 0, 255)


def test_crop_window_stays_inside_the_image() -> None:
    assert crop_window((100, 50), (0.5, 0.5), 4) == (38, 19, 63, 31)
    assert crop_window((100, 50), (1.0, 0.0), 2) == (50, 0, 100, 25)


def test_zoomed_pair_crops_the_same_region_of_input_and_output() -> None:
    low = Image.new("RGB", (16, 16), (0, 0, 0))
    low.putpixel((12, 3), (255, 255, 255))  # the input pixel under the output's top-right quadrant
    high = low.resize((64, 64), Image.Resampling.NEAREST)
    crop_low, crop_high = zoomed_pair(low, high, (0.75, 0.25), 2, display_px=128)
    assert crop_low.size == crop_high.size == (128, 128)
    assert crop_low.tobytes() == crop_high.tobytes()
    assert crop_high.getpixel((0, 0)) == (0, 0, 0) and crop_high.getpixel((70, 56)) == (255, 255, 255)


def test_overlay_colours_only_classes_in_the_palette_at_the_given_opacity() -> None:
    image = Image.new("RGB", (4, 2), (100, 100, 100))
    mask = Image.new("L", (4, 2), 0)
    mask.putpixel((3, 1), 2)
    out = overlay(image, mask, {2: (200, 0, 0)}, opacity=0.5)
    assert out.getpixel((0, 0)) == (100, 100, 100)
    assert out.getpixel((3, 1)) == (150, 50, 50)
    assert legend([("cat", (200, 0, 0)), ("dog", (0, 200, 0))]).height >= 40


def test_png_round_trip() -> None:
    image = Image.new("RGB", (3, 2), (1, 2, 3))
    assert decode_image(encode_png(image)).getpixel((2, 1)) == (1, 2, 3)
