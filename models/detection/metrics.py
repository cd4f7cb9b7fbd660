"""COCO-style mean average precision for evaluating detectors on generated scenes.

Follows pycocotools' `COCOeval` for boxes, without crowd regions or area ranges: per class and IoU threshold,
detections of all images are ranked by score, each is matched greedily to the unmatched ground-truth box of its
image with the highest IoU (at least the threshold), and AP is the mean of the interpolated precision (its running
maximum from the right) at 101 recall points 0, 0.01, ..., 1. mAP averages over classes that have ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: COCO's thresholds: 0.50, 0.55, ..., 0.95.
COCO_IOU_THRESHOLDS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
_RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class ImageEval:
    """Detections and ground truth of one image, boxes x1 y1 x2 y2 in the same pixels.

    Attributes:
        boxes: (D, 4) float detections.
        scores: (D,) float.
        labels: (D,) int.
        gt_boxes: (G, 4) float.
        gt_labels: (G,) int.
    """

    boxes: NDArray[np.floating]
    scores: NDArray[np.floating]
    labels: NDArray[np.integer]
    gt_boxes: NDArray[np.floating]
    gt_labels: NDArray[np.integer]


def box_iou(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.float64]:
    """Pairwise IoU of (N, 4) and (M, 4) x1 y1 x2 y2 boxes -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = (a[:, 2:] - a[:, :2]).prod(axis=1)
    area_b = (b[:, 2:] - b[:, :2]).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def average_precision(images: list[ImageEval], label: int, iou_threshold: float) -> float | None:
    """AP of one class at one IoU threshold; None when the class has no ground truth."""
    num_gt = sum(int((img.gt_labels == label).sum()) for img in images)
    if num_gt == 0:
        return None
    scores, hits = [], []
    for img in images:
        det = img.labels == label
        if not det.any():
            continue
        order = np.argsort(-img.scores[det], kind="stable")
        boxes, det_scores = img.boxes[det][order], img.scores[det][order]
        gt = img.gt_boxes[img.gt_labels == label]
        ious = box_iou(boxes, gt)
        taken = np.zeros(len(gt), dtype=bool)
        for i in range(len(boxes)):
            candidates = np.where(taken, -1.0, ious[i]) if len(gt) else np.zeros(0)
            j = int(np.argmax(candidates)) if len(gt) else -1
            hit = j >= 0 and candidates[j] >= iou_threshold
            if hit:
                taken[j] = True
            hits.append(hit)
        scores.extend(det_scores.tolist())
    if not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    tp = np.cumsum(np.asarray(hits)[order])
    fp = np.cumsum(~np.asarray(hits)[order])
    recall = tp / num_gt
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, _RECALL_POINTS, side="left")
    sampled = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


def mean_average_precision(
    images: list[ImageEval], num_classes: int, iou_thresholds: tuple[float, ...] = COCO_IOU_THRESHOLDS
) -> dict[float, float]:
    """mAP over classes with ground truth, for each IoU threshold.

    Returns:
        {threshold: mAP}; average the values for COCO's mAP@0.5:0.95.
    """
    result = {}
    for threshold in iou_thresholds:
        aps = [ap for c in range(num_classes) if (ap := average_precision(images, c, threshold)) is not None]
        result[threshold] = float(np.mean(aps)) if aps else 0.0
    return result
