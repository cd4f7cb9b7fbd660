"""kernels.postprocess follows the seed's non_max_suppression pipeline, method by method."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

import kernels

from ._reference import (
    by_score,
    reference_and_nms,
    reference_diou_nms,
    reference_merge_nms,
    reference_soft_nms,
)


def random_predictions(generator: torch.Generator, batch: int = 2, n: int = 300, classes: int = 4) -> torch.Tensor:
    """YOLO rows (cx, cy, w, h, obj, cls...) on a 320-pixel image, probabilities for obj and classes. Rows come
    in groups of 5 jittered copies of one object, as a detector's neighbouring anchors predict them."""
    pred = torch.rand(batch, n, 5 + classes, generator=generator)
    objects = torch.rand(batch, n // 5, 4, generator=generator) * torch.tensor([320.0, 320.0, 60.0, 60.0])
    jitter = torch.randn(batch, n // 5, 5, 4, generator=generator) * torch.tensor([2.0, 2.0, 3.0, 3.0])
    pred[:, : n // 5 * 5, :4] = (objects[:, :, None, :] + jitter).reshape(batch, -1, 4)
    pred[..., 2:4] = pred[..., 2:4].abs() + 1  # some narrower than min_wh = 2
    return pred


def reference_postprocess(
    pred: torch.Tensor, conf: float, iou: float, method: str, multi_label: bool, max_det: int, cap: int
) -> torch.Tensor:
    """The documented pipeline on one image, with torchvision and the pure-torch references."""
    pred = pred[pred[:, 4] > conf]
    pred = pred[((pred[:, 2:4] > 2) & (pred[:, 2:4] < 4096)).all(1)]
    xy, half = pred[:, :2], pred[:, 2:4] / 2
    boxes = torch.cat((xy - half, xy + half), 1)
    scores = pred[:, 5:] * pred[:, 4:5]
    if multi_label:
        i, j = (scores > conf).nonzero().t()
        det = torch.cat((boxes[i], scores[i, j, None], j[:, None].float()), 1)
    else:
        best, j = scores.max(1)
        det = torch.cat((boxes, best[:, None], j[:, None].float()), 1)[best > conf]
    det = det[torch.isfinite(det).all(1)]
    det = det[det[:, 4].argsort(descending=True, stable=True)]
    capped = [torch.nonzero(det[:, 5] == c).flatten()[:cap] for c in det[:, 5].unique()]
    det = det[torch.cat(capped).sort().values] if capped else det
    b, s, c = det[:, :4], det[:, 4], det[:, 5]
    if method == "vision_batch":
        return det[torchvision.ops.batched_nms(b, s, c, iou)][:max_det]
    if method == "vision":
        members = [torch.nonzero(c == k).flatten() for k in c.unique()]
        keep = [int(m[r]) for m in members for r in torchvision.ops.nms(b[m], s[m], iou)]
        return det[by_score(keep, s)][:max_det]
    if method == "or":
        return det[torchvision.ops.nms(b, s, iou)][:max_det]
    if method == "and":
        return det[reference_and_nms(b, s, iou, 0.5, c)][:max_det]
    if method == "diou":
        return det[reference_diou_nms(b, s, iou, c)][:max_det]
    if method == "merge":
        keep, merged = reference_merge_nms(b, s, iou, c)
        return torch.cat((merged, det[keep, 4:]), 1)[:max_det]
    keep, decayed = reference_soft_nms(b, s, iou, 0.5, "gaussian", conf, c)
    return torch.cat((det[keep, :4], decayed[:, None], det[keep, 5:]), 1)[:max_det]


@pytest.mark.parametrize("method", kernels.NMS_METHODS)
@pytest.mark.parametrize("multi_label", [False, True])
def test_matches_the_reference_pipeline(method: str, multi_label: bool, generator: torch.Generator) -> None:
    pred = random_predictions(generator)
    conf = 0.3 if multi_label else 0.2
    outputs = kernels.postprocess(
        pred, conf, 0.45, method=method, multi_label=multi_label, max_det=100, per_class_cap=40
    )
    assert len(outputs) == 2
    for image, out in zip(pred, outputs, strict=True):
        expected = reference_postprocess(image, conf, 0.45, method, multi_label, 100, 40)
        assert out.shape[1] == 6 and len(out) > 0
        torch.testing.assert_close(out, expected)
        assert (out[:-1, 4] >= out[1:, 4]).all()  # sorted by decreasing confidence


def test_box_conversion_confidence_and_class() -> None:
    pred = torch.zeros(1, 2, 7)
    pred[0, 0] = torch.tensor([50.0, 40.0, 20.0, 10.0, 0.9, 0.1, 0.8])
    pred[0, 1] = torch.tensor([50.0, 40.0, 20.0, 10.0, 0.4, 0.9, 0.9])  # obj below conf_thres
    (out,) = kernels.postprocess(pred, conf_thres=0.5)
    torch.testing.assert_close(out, torch.tensor([[40.0, 35.0, 60.0, 45.0, 0.72, 1.0]]))


def test_filters(generator: torch.Generator) -> None:
    pred = random_predictions(generator, batch=1, n=400, classes=6)
    pred[0, :20, 0] = math.nan
    pred[0, 20:40, 2] = 5000.0  # wider than max_wh
    (out,) = kernels.postprocess(pred, 0.2, 0.5, classes=[1, 4], max_det=7)
    assert len(out) == 7 and set(out[:, 5].tolist()) <= {1.0, 4.0}
    assert torch.isfinite(out).all()
    (capped,) = kernels.postprocess(pred, 0.2, 0.5, method="or", per_class_cap=2)
    assert torch.bincount(capped[:, 5].long()).max() <= 2
    (everything,) = kernels.postprocess(pred, 0.2, 1.0, method="vision", per_class_cap=None, max_det=10_000)
    assert len(everything) > 6 * 2


def test_empty_image_gives_an_empty_tensor() -> None:
    (out,) = kernels.postprocess(torch.zeros(1, 10, 8), conf_thres=0.5)
    assert out.shape == (0, 6)


def test_or_ignores_classes_while_vision_does_not() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 9.0]])
    scores, labels = torch.tensor([0.9, 0.8]), torch.tensor([0, 1])
    assert kernels.nms_by_method(boxes, scores, labels, "or", 0.5)[3].tolist() == [0]
    assert kernels.nms_by_method(boxes, scores, labels, "vision", 0.5)[3].tolist() == [0, 1]
    assert kernels.nms_by_method(boxes, scores, labels.float(), "vision_batch", 0.5)[3].tolist() == [0, 1]


def test_bad_arguments_raise_value_errors() -> None:
    with pytest.raises(ValueError, match=r"predictions should have shape \[B, N, 5 \+ num_classes\]"):
        kernels.postprocess(torch.zeros(10, 8))
    with pytest.raises(ValueError, match="method should be one of vision, vision_batch, or, and, merge, diou, soft"):
        kernels.postprocess(torch.zeros(1, 10, 8), method="fast")
    with pytest.raises(ValueError, match="got 'fast'"):
        kernels.nms_by_method(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), "fast", 0.5)
