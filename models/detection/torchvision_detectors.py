"""torchvision detectors whose NMS runs on our kernels.

torchvision ends every detector's `postprocess_detections` (roi_heads.py for Faster R-CNN, retinanet.py, fcos.py,
ssd.py for SSDlite) with the same two lines:

    keep = box_ops.batched_nms(boxes, scores, labels, self.nms_thresh)
    keep = keep[: self.detections_per_img]

and then `GeneralizedRCNNTransform.postprocess` scales the boxes back to the input size. `route_nms` runs those
methods' own code with a different `box_ops`: one whose `batched_nms` keeps every candidate, so the model returns
all of them in the resized frame; `finish` then applies our kernel (`kernels.nms_by_method`, any method), the cap
and the same `resize_boxes` torchvision would. With method "vision_batch" and the model's thresholds the result is
torchvision's, bit for bit (tests/models/detection/test_torchvision_detectors.py). Faster R-CNN's proposal NMS in
the RPN (`filter_proposals`) is rerouted the same way to `kernels.batched_nms`, so no torchvision NMS runs at all.

The rebinding copies each function with new globals instead of patching `torchvision.ops.boxes`, so stock models in
the same process are untouched; it relies on torchvision naming the module `box_ops`, checked when routing.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torchvision.ops.boxes as tv_box_ops
from torch import Tensor, nn
from torchvision.models.detection.transform import resize_boxes

import kernels

#: Replaces `detections_per_img` on routed models: the cap is applied after our NMS (Params.max_det).
_NO_CAP = 1 << 30


class _BoxOps:
    """`torchvision.ops.boxes` with `batched_nms` replaced; every other function is torchvision's."""

    def __init__(self, batched_nms: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
        self.batched_nms = batched_nms

    def __getattr__(self, name: str) -> Any:
        return getattr(tv_box_ops, name)


def _keep_all(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    return torch.arange(boxes.shape[0], device=boxes.device)


def _with_box_ops(method: Callable[..., Any], box_ops: _BoxOps) -> Callable[..., Any]:
    """`method` (bound) re-created with `box_ops` in its globals, bound to the same object."""
    fn = method.__func__  # type: ignore[attr-defined]
    if "box_ops" not in fn.__code__.co_names:
        raise RuntimeError(f"{fn.__qualname__} no longer calls box_ops.*; update models/detection/{__name__}")
    rebound = types.FunctionType(
        fn.__code__, {**fn.__globals__, "box_ops": box_ops}, fn.__name__, fn.__defaults__, fn.__closure__
    )
    rebound.__kwdefaults__ = fn.__kwdefaults__
    return types.MethodType(rebound, method.__self__)  # type: ignore[attr-defined]


def _defer_resize(
    result: list[dict[str, Tensor]], image_shapes: list[tuple[int, int]], original_image_sizes: list[tuple[int, int]]
) -> list[dict[str, Tensor]]:
    """Stand-in for `GeneralizedRCNNTransform.postprocess`: keep the resized frame, record both sizes."""
    for detections, resized, original in zip(result, image_shapes, original_image_sizes, strict=True):
        detections["resized_hw"] = torch.tensor(resized)
        detections["original_hw"] = torch.tensor(original)
    return result


def route_nms(model: nn.Module) -> nn.Module:
    """Make a torchvision detector return all NMS candidates (see the module docstring); returns `model`.

    Works for the detectors of `weights.TORCHVISION_VARIANTS`: GeneralizedRCNN (Faster R-CNN) and the single-stage
    RetinaNet, FCOS and SSD, whose `postprocess_detections` and `detections_per_img` sit on `roi_heads` or the model.
    """
    head = getattr(model, "roi_heads", model)
    head.postprocess_detections = _with_box_ops(head.postprocess_detections, _BoxOps(_keep_all))
    head.detections_per_img = _NO_CAP
    if hasattr(model, "rpn"):
        model.rpn.filter_proposals = _with_box_ops(model.rpn.filter_proposals, _BoxOps(kernels.batched_nms))
    model.transform.postprocess = _defer_resize
    return model


@dataclass(frozen=True)
class Candidates:
    """All scored boxes of one image before NMS.

    Attributes:
        boxes: (N, 4) x1 y1 x2 y2 in the model's resized frame.
        scores: (N,) the model's class scores.
        labels: (N,) int64 COCO label ids.
        resized_hw: (height, width) the model resized the image to.
        original_hw: (height, width) of the image given to the model.
    """

    boxes: Tensor
    scores: Tensor
    labels: Tensor
    resized_hw: tuple[int, int]
    original_hw: tuple[int, int]


def candidates(routed: nn.Module, images: list[Tensor]) -> list[Candidates]:
    """Run a routed detector on (3, H, W) float images in [0, 1] of any sizes (it batches them itself)."""
    with torch.inference_mode():
        outputs = routed(images)
    return [
        Candidates(
            boxes=out["boxes"].cpu(),
            scores=out["scores"].cpu(),
            labels=out["labels"].cpu(),
            resized_hw=(int(out["resized_hw"][0]), int(out["resized_hw"][1])),
            original_hw=(int(out["original_hw"][0]), int(out["original_hw"][1])),
        )
        for out in outputs
    ]


def finish(
    cand: Candidates,
    *,
    conf_thres: float,
    iou_thres: float,
    method: str,
    max_det: int,
    classes: tuple[int, ...] | None = None,
    soft_sigma: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """NMS on our kernels, the cap, and torchvision's mapping back to the input image.

    Args:
        cand: one image's candidates.
        conf_thres: keep scores above this (before NMS, and after Soft-NMS has decayed them).
        iou_thres: NMS IoU threshold.
        method: one of `kernels.NMS_METHODS`.
        max_det: keep at most this many, best first.
        classes: keep only these label ids (None: all).
        soft_sigma: Gaussian Soft-NMS sigma.

    Returns:
        boxes (K, 4) x1 y1 x2 y2 in input pixels, scores (K,), labels (K,) int64; scores descending.
    """
    keep = cand.scores > conf_thres
    if classes is not None:
        keep &= torch.isin(cand.labels, torch.tensor(classes, dtype=cand.labels.dtype))
    boxes, scores, labels, _ = kernels.nms_by_method(
        cand.boxes[keep],
        cand.scores[keep],
        cand.labels[keep],
        method,
        iou_thres,
        soft_sigma=soft_sigma,
        score_threshold=conf_thres,
    )
    boxes, scores, labels = boxes[:max_det], scores[:max_det], labels[:max_det]
    return resize_boxes(boxes, cand.resized_hw, cand.original_hw), scores, labels
