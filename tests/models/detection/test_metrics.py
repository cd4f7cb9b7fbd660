"""COCO-style AP on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from models.detection.metrics import ImageEval, average_precision, box_iou, mean_average_precision


def _image(
    boxes: list[list[float]], scores: list[float], labels: list[int], gt: list[list[float]], gt_labels: list[int]
) -> ImageEval:
    return ImageEval(
        np.array(boxes, float).reshape(-1, 4),
        np.array(scores, float),
        np.array(labels, int),
        np.array(gt, float).reshape(-1, 4),
        np.array(gt_labels, int),
    )


def test_box_iou() -> None:
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    assert iou[0].tolist() == pytest.approx([1.0, 1 / 3, 0.0])


def test_perfect_detections_score_one() -> None:
    img = _image([[0, 0, 10, 10], [20, 20, 40, 40]], [0.9, 0.8], [0, 1], [[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1])
    maps = mean_average_precision([img], num_classes=2)
    assert all(v == pytest.approx(1.0) for v in maps.values())


def test_loose_box_counts_only_at_low_thresholds() -> None:
    img = _image([[0, 0, 10, 12]], [0.9], [0], [[0, 0, 10, 10]], [0])  # IoU = 10/12
    assert average_precision([img], 0, 0.8) == pytest.approx(1.0)
    assert average_precision([img], 0, 0.85) == pytest.approx(0.0)


def test_duplicates_and_ranking() -> None:
    # A confident false positive ranked above the true positive halves precision at full recall.
    img = _image([[50, 50, 60, 60], [0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.7], [0, 0, 0], [[0, 0, 10, 10]], [0])
    assert average_precision([img], 0, 0.5) == pytest.approx(0.5)


def test_classes_without_ground_truth_are_skipped() -> None:
    img = _image([[0, 0, 10, 10]], [0.9], [0], [[0, 0, 10, 10]], [0])
    assert average_precision([img], 1, 0.5) is None
    assert mean_average_precision([img], num_classes=3)[0.5] == pytest.approx(1.0)
