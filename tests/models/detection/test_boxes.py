"""Letterboxing, batch padding and box geometry of the demo detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.detection.boxes import PAD_VALUE, complete_iou, letterbox, pad_to, unletterbox, xyxy_to_xywh


@pytest.mark.parametrize(("height", "width"), [(480, 640), (640, 300), (100, 100), (3000, 1000)])
def test_letterbox_keeps_aspect_and_undoes_exactly(height: int, width: int) -> None:
    rgb = np.zeros((height, width, 3), np.uint8)
    resized, scale = letterbox(rgb, 320)
    assert max(resized.shape[:2]) == 320
    assert resized.shape[0] == pytest.approx(height * scale, abs=1)
    boxes = torch.tensor([[10.0, 20.0, 90.0, 60.0]]) * scale
    back = unletterbox(boxes, scale, width, height)
    assert torch.allclose(back, torch.tensor([[10.0, 20.0, 90.0, 60.0]]), atol=1e-3)


def test_unletterbox_clips_to_the_image() -> None:
    back = unletterbox(torch.tensor([[-5.0, -5.0, 400.0, 300.0]]), 0.5, 100, 80)
    assert back.tolist() == [[0.0, 0.0, 100.0, 80.0]]


def test_pad_to_aligns_top_left_and_rounds_to_the_stride() -> None:
    a = torch.ones((3, 50, 70), dtype=torch.uint8)
    b = torch.full((3, 64, 33), 7, dtype=torch.uint8)
    batch = pad_to([a, b], stride=32)
    assert batch.shape == (2, 3, 64, 96)
    assert (batch[0, :, :50, :70] == 1).all() and (batch[0, :, 50:, :] == PAD_VALUE).all()
    assert (batch[1, :, :, :33] == 7).all() and (batch[1, :, :, 33:] == PAD_VALUE).all()


def test_xywh_is_top_left_and_size() -> None:
    assert xyxy_to_xywh(torch.tensor([[10.0, 20.0, 40.0, 60.0]])).tolist() == [[10.0, 20.0, 30.0, 40.0]]


def test_complete_iou() -> None:
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [20.0, 0.0, 30.0, 10.0]])
    iou, ciou = complete_iou(a, b)
    assert iou.tolist() == pytest.approx([1.0, 1 / 3, 0.0], abs=1e-5)
    # same aspect ratio: CIoU = IoU - centre distance^2 / enclosing diagonal^2
    assert ciou.tolist() == pytest.approx([1.0, 1 / 3 - 25 / 325, -(400 / 1000)], abs=1e-5)
    assert math.isfinite(float(complete_iou(torch.zeros(1, 4), torch.zeros(1, 4))[1]))
