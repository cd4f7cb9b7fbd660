"""Shapes and decoding of the demo network."""

from __future__ import annotations

import pytest
import torch

from models.detection.network import DetectorConfig, TinyYolo

TINY = DetectorConfig(num_classes=3, widths=(4, 8, 8, 8, 8), depths=(0, 1, 1, 1, 1), neck_channels=8)


def test_raw_maps_have_one_level_per_stride() -> None:
    model = TinyYolo(TINY).eval()
    raw = model(torch.rand(2, 3, 64, 96))
    assert [tuple(r.shape) for r in raw] == [(2, 8, 8, 12), (2, 8, 4, 6), (2, 8, 2, 3)]


def test_decode_places_boxes_in_input_pixels() -> None:
    model = TinyYolo(TINY).eval()
    raw = [torch.zeros(1, 8, 64 // s, 64 // s) for s in TINY.strides]
    rows = model.decode(raw)
    assert rows.shape == (1, 64 + 16 + 4, 8)
    # zero logits: centre at cell + 0.5 cells, size = one stride, probabilities 0.5
    assert rows[0, 0].tolist() == pytest.approx([4.0, 4.0, 8.0, 8.0, 0.5, 0.5, 0.5, 0.5])
    assert rows[0, 1, :2].tolist() == pytest.approx([12.0, 4.0])  # row-major: next cell is to the right
    assert rows[0, 64, :4].tolist() == pytest.approx([8.0, 8.0, 16.0, 16.0])  # first cell of stride 16


def test_decode_clamps_huge_sizes() -> None:
    model = TinyYolo(TINY).eval()
    raw = [torch.full((1, 8, 64 // s, 64 // s), 1e4) for s in TINY.strides]
    assert torch.isfinite(model.decode(raw)).all()


def test_config_round_trips_through_json() -> None:
    assert DetectorConfig.from_json(TINY.to_json()) == TINY


def test_mismatched_config_is_refused() -> None:
    with pytest.raises(ValueError, match="widths and depths"):
        TinyYolo(DetectorConfig(widths=(4, 8), depths=(0,)))
