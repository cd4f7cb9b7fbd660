"""YOLO-style detection post-processing on the visionq ops: the seed's ``non_max_suppression``
(seeds/001 L223-332) with its seven NMS methods.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from . import and_nms, batched_nms, diou_nms, merge_nms, nms, soft_nms

#: NMS methods of the seed (seeds/001 L81-105, L271-328), by name.
NMS_METHODS: tuple[str, ...] = ("vision", "vision_batch", "or", "and", "merge", "diou", "soft")


def _class_ids(labels: Tensor) -> Tensor:
    """int64 class ids; floating labels (the seed keeps classes in a float column) are grouped by value."""
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        inverse: Tensor = torch.unique(labels, return_inverse=True)[1]
        return inverse
    return labels.long()


def nms_by_method(
    boxes: Tensor,
    scores: Tensor,
    labels: Tensor,
    method: str,
    iou_threshold: float,
    soft_sigma: float = 0.5,
    score_threshold: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Class-aware NMS by one of the seed's methods.

    - ``vision``: hard NMS per class (the seed's loop of ``torchvision.ops.nms`` over classes);
    - ``vision_batch``: ``batched_nms`` in one call (torchvision's semantics, offset trick included);
    - ``or``: plain greedy hard NMS over all boxes, ignoring classes;
    - ``and``: ``and_nms`` per class (kept boxes need a neighbour with IoU > 0.5);
    - ``merge``: ``merge_nms`` per class; the returned boxes are the merged ones;
    - ``diou``: ``diou_nms`` per class;
    - ``soft``: gaussian ``soft_nms`` per class with ``soft_sigma``, dropping decayed scores
      ``<= score_threshold``; the returned scores are the decayed ones.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box.
        labels (Tensor[N]): class of each box (integer or float).
        method (str): one of ``NMS_METHODS``.
        iou_threshold (float): IoU (DIoU for ``diou``) threshold; unused by ``soft``.
        soft_sigma (float): gaussian width of ``soft``.
        score_threshold (float): score floor of ``soft``.

    Returns:
        tuple[Tensor[K, 4], Tensor[K], Tensor[K], Tensor[K] (int64)]: boxes, scores, labels and the indices
        of the kept boxes in the input, by decreasing (for ``soft``, decayed) score.

    Raises:
        ValueError: ``method`` is not one of ``NMS_METHODS``.
    """
    if method not in NMS_METHODS:
        raise ValueError(f"method should be one of {', '.join(NMS_METHODS)}; got {method!r}")
    out_boxes, out_scores = boxes, scores
    if method == "vision":
        keep = torch.ops.visionq.batched_nms(boxes, scores, _class_ids(labels), float(iou_threshold))
    elif method == "vision_batch":
        keep = batched_nms(boxes, scores, labels, iou_threshold)
    elif method == "or":
        keep = nms(boxes, scores, iou_threshold)
    elif method == "and":
        keep = and_nms(boxes, scores, iou_threshold, idxs=_class_ids(labels))
    elif method == "merge":
        keep, merged = merge_nms(boxes, scores, iou_threshold, idxs=_class_ids(labels))
        return merged, scores[keep], labels[keep], keep
    elif method == "diou":
        keep = diou_nms(boxes, scores, iou_threshold, idxs=_class_ids(labels))
    else:
        keep, decayed = soft_nms(
            boxes, scores, sigma=soft_sigma, score_threshold=score_threshold, idxs=_class_ids(labels)
        )
        return boxes[keep], decayed, labels[keep], keep
    return out_boxes[keep], out_scores[keep], labels[keep], keep


def _xywh_to_xyxy(xywh: Tensor) -> Tensor:
    """(cx, cy, w, h) to (x1, y1, x2, y2); shape (N, 4) kept."""
    half = xywh[:, 2:4] / 2
    return torch.cat((xywh[:, 0:2] - half, xywh[:, 0:2] + half), dim=1)


def _cap_per_class(det: Tensor, cap: int | None) -> Tensor:
    """The first ``cap`` rows of each class of ``det`` (rows sorted by decreasing confidence, class in column 5).

    The seed caps each class at 500 boxes before NMS (ultralytics/yolov3 issue 117) to bound NMS time.
    """
    if cap is None or det.shape[0] <= cap:
        return det
    labels = det[:, 5]
    by_class = labels.argsort(stable=True)  # class-major, confidence order inside each class
    sorted_labels = labels[by_class].contiguous()
    rank = torch.arange(det.shape[0], device=det.device) - torch.searchsorted(sorted_labels, sorted_labels)
    keep = torch.zeros(det.shape[0], dtype=torch.bool, device=det.device)
    keep[by_class[rank < cap]] = True
    return det[keep]


def _postprocess_image(
    pred: Tensor,
    conf_thres: float,
    iou_thres: float,
    method: str,
    multi_label: bool,
    max_det: int,
    min_wh: float,
    max_wh: float,
    per_class_cap: int | None,
    classes: Sequence[int] | None,
    soft_sigma: float,
) -> Tensor:
    """One image of ``postprocess``: rows (cx, cy, w, h, obj, cls...) to rows (x1, y1, x2, y2, conf, class)."""
    pred = pred[pred[:, 4] > conf_thres]
    wh = pred[:, 2:4]
    pred = pred[((wh > min_wh) & (wh < max_wh)).all(dim=1)]
    boxes = _xywh_to_xyxy(pred[:, :4])
    conf = pred[:, 5:] * pred[:, 4:5]  # obj x cls
    if multi_label:
        i, j = (conf > conf_thres).nonzero(as_tuple=True)
        det = torch.cat((boxes[i], conf[i, j, None], j[:, None].to(pred.dtype)), dim=1)
    else:
        best, j = conf.max(dim=1)
        det = torch.cat((boxes, best[:, None], j[:, None].to(pred.dtype)), dim=1)[best > conf_thres]
    if classes is not None:
        wanted = torch.tensor(list(classes), dtype=det.dtype, device=det.device)
        det = det[(det[:, 5:6] == wanted).any(dim=1)]
    det = det[torch.isfinite(det).all(dim=1)]
    det = det[det[:, 4].argsort(descending=True, stable=True)]
    det = _cap_per_class(det, per_class_cap)
    out_boxes, out_scores, out_labels, _ = nms_by_method(
        det[:, :4], det[:, 4], det[:, 5], method, iou_thres, soft_sigma=soft_sigma, score_threshold=conf_thres
    )
    return torch.cat((out_boxes, out_scores[:, None], out_labels[:, None]), dim=1)[:max_det]


def postprocess(
    predictions: Tensor,
    conf_thres: float = 0.5,
    iou_thres: float = 0.5,
    method: str = "vision_batch",
    multi_label: bool = False,
    max_det: int = 300,
    min_wh: float = 2,
    max_wh: float = 4096,
    per_class_cap: int | None = 500,
    classes: Sequence[int] | None = None,
    soft_sigma: float = 0.5,
) -> list[Tensor]:
    """YOLO post-processing, the seed's ``non_max_suppression`` pipeline, per image:

    1. keep rows with objectness ``obj > conf_thres`` and ``min_wh < w, h < max_wh`` (pixels);
    2. ``conf = obj * cls``. Class scores are taken as given, in probability space: no sigmoid is applied
       (the seed applies one to raw logits; apply ``torch.sigmoid`` first if yours are logits);
    3. boxes ``(cx, cy, w, h)`` to ``(x1, y1, x2, y2)``;
    4. ``multi_label``: one row per (box, class) with ``conf > conf_thres``; otherwise the best class per box,
       also kept only if ``conf > conf_thres`` (the seed filters only on ``obj`` there);
    5. optionally keep only ``classes``; drop rows with a non-finite value; sort by decreasing ``conf``;
    6. keep the ``per_class_cap`` best rows of each class (the seed's 500, applied to every method; ``None``
       disables it);
    7. ``nms_by_method`` with ``method`` (``soft`` drops decayed scores ``<= conf_thres``), then ``max_det`` rows.

    Args:
        predictions (Tensor[B, N, 5 + C]): rows ``(cx, cy, w, h, obj, cls_0, ..., cls_{C-1})``.
        conf_thres (float): confidence threshold.
        iou_thres (float): NMS IoU threshold.
        method (str): one of ``NMS_METHODS``.
        multi_label (bool): one row per class over the threshold rather than the best class only.
        max_det (int): at most this many rows per image.
        min_wh (float): boxes must be wider and taller than this.
        max_wh (float): boxes must be narrower and shorter than this.
        per_class_cap (int | None): rows per class entering NMS.
        classes (Sequence[int] | None): keep only these classes.
        soft_sigma (float): gaussian width of ``soft``.

    Returns:
        list[Tensor[K, 6]]: per image, rows ``(x1, y1, x2, y2, conf, class)`` by decreasing ``conf``, in the
        predictions' dtype and device.

    Raises:
        ValueError: ``predictions`` is not ``[B, N, 5 + C]`` with ``C >= 1``, or ``method`` is unknown.
    """
    if predictions.dim() != 3 or predictions.shape[2] < 6:
        raise ValueError(
            f"predictions should have shape [B, N, 5 + num_classes] with num_classes >= 1, "
            f"got {list(predictions.shape)}"
        )
    if method not in NMS_METHODS:
        raise ValueError(f"method should be one of {', '.join(NMS_METHODS)}; got {method!r}")
    return [
        _postprocess_image(
            pred,
            conf_thres,
            iou_thres,
            method,
            multi_label,
            max_det,
            min_wh,
            max_wh,
            per_class_cap,
            classes,
            soft_sigma,
        )
        for pred in predictions
    ]
