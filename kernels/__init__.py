"""visionq's box ops: NMS and its variants, and the IoU family, on our own C++ and CUDA kernels.

Every function calls a ``torch.ops.visionq`` op, which the dispatcher runs on the CPU or CUDA kernel of its
inputs' device. Boxes are ``(x1, y1, x2, y2)``. ``nms`` and ``batched_nms`` are drop-in replacements for
torchvision's: same signature, same kept indices in the same order (see ``nms`` for the exact contract).

float16 and bfloat16 inputs are computed in float32 (results equal the float32 op on the upcast inputs);
boxes and scores must share one dtype and one device.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from . import _ops

__all__ = [
    "NMS_METHODS",
    "and_nms",
    "batched_nms",
    "box_iou",
    "complete_box_iou",
    "diou_nms",
    "distance_box_iou",
    "generalized_box_iou",
    "merge_nms",
    "nms",
    "nms_by_method",
    "postprocess",
    "soft_nms",
]

#: The seed's epsilon (bbox_iou, seeds/001 L381-425): keeps IoU finite for empty boxes.
SEED_EPS = 1e-16

# Above these box counts (numel of boxes) batched_nms runs NMS per class rather than on offset coordinates.
# They are torchvision's own (ops/boxes.py, issue 1311 and PR 8925), kept so that batched_nms returns the very
# indices torchvision does: the offset path rounds shifted coordinates, so the two paths can differ by an ulp
# at the threshold. Our per-class kernel is also the faster one above them (bench/nms.py: 10k boxes, 80
# classes, ~1.3 ms against ~25 ms for torchvision's per-class loop).
_OFFSET_MAX_NUMEL_CPU = 4000
_OFFSET_MAX_NUMEL_CUDA = 100_000


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression, as ``torchvision.ops.nms``.

    Boxes are visited by decreasing score; a box is dropped when its IoU with an already kept box is strictly
    greater than ``iou_threshold``. The result equals ``torchvision.ops.nms`` exactly on float32 and float64
    CPU inputs, including:

    - ties: equal scores are visited in index order (a stable sort), so the lower index wins;
    - NaN scores sort first, as in ``torch.sort(descending=True)``; +inf and -inf sort as numbers;
    - IoU is torchvision's ``inter / (area_a + area_b - inter)`` with no epsilon, compared in float64 as
      torchvision's CPU kernel does. Zero-area, inverted and non-finite boxes therefore never suppress and are
      never suppressed when ``iou_threshold >= 0`` (their IoU is 0 or NaN); a NaN threshold suppresses nothing.

    On CUDA the same contract holds (torchvision's CUDA kernel compares in float32 and sorts unstably, so it
    may differ from its own CPU kernel on ties and at the threshold; ours does not).

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``; float16, bfloat16, float32 or float64.
        scores (Tensor[N]): one score per box, same dtype and device as ``boxes``.
        iou_threshold (float): discard boxes whose IoU with a kept box is > this.

    Returns:
        Tensor[K] (int64): indices of the kept boxes, by decreasing score.
    """
    keep: Tensor = torch.ops.visionq.nms(boxes, scores, float(iou_threshold))
    return keep


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """Non-maximum suppression per category, as ``torchvision.ops.batched_nms``.

    Boxes with different ``idxs`` never suppress each other. Like torchvision, small inputs (up to 4,000
    box coordinates on the CPU, 100,000 on CUDA) run one ``nms`` on boxes shifted apart by class, larger ones
    run NMS per class; both paths and the output order reproduce torchvision's, tied scores included.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box.
        idxs (Tensor[N]): the category of each box (integer; floating ids are grouped by value).
        iou_threshold (float): discard boxes whose IoU with a kept box of their category is > this.

    Returns:
        Tensor[K] (int64): indices of the kept boxes, by decreasing score.
    """
    _ops.check_boxes_and_scores(boxes, scores, "batched_nms")
    if idxs.dtype.is_floating_point or idxs.dtype == torch.bool:
        idxs = torch.unique(idxs, return_inverse=True)[1]
    _ops.check_idxs(boxes, idxs, "batched_nms")
    if boxes.dtype in (torch.float16, torch.bfloat16):
        boxes, scores = boxes.float(), scores.float()
    limit = _OFFSET_MAX_NUMEL_CPU if boxes.device.type == "cpu" else _OFFSET_MAX_NUMEL_CUDA
    if boxes.numel() > limit:
        return _batched_nms_per_class(boxes, scores, idxs, iou_threshold)
    return _batched_nms_by_offset(boxes, scores, idxs, iou_threshold)


def _batched_nms_by_offset(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """One NMS over boxes moved apart by ``idxs * (max coordinate + 1)``, computed as torchvision does."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def _batched_nms_per_class(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """The per-class kernel, with tied scores ordered as torchvision's per-class path orders them."""
    keep: Tensor = torch.ops.visionq.batched_nms(boxes, scores, idxs, float(iou_threshold), True)
    return keep


def box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = SEED_EPS) -> Tensor:
    """IoU of every pair, the seed's bbox_iou: ``inter / ((w1 * h1 + eps) + w2 * h2 - inter)``.

    Differentiable (the backward recomputes the formula in torch ops).

    Args:
        boxes1 (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        boxes2 (Tensor[M, 4]): boxes as ``(x1, y1, x2, y2)``, same dtype and device.
        eps (float): added to the first box's area in the union (1e-16 in the seed).

    Returns:
        Tensor[N, M]: IoU of ``boxes1[i]`` and ``boxes2[j]``, in the boxes' dtype.
    """
    result: Tensor = torch.ops.visionq.pairwise_iou(boxes1, boxes2, "iou", float(eps))
    return result


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = SEED_EPS) -> Tensor:
    """GIoU of every pair (Rezatofighi et al. 2019): ``iou - (c_area - union) / c_area``.

    ``c_area`` is the area of the smallest enclosing box plus ``eps``. Shapes and dtypes as ``box_iou``.

    Returns:
        Tensor[N, M]: GIoU of ``boxes1[i]`` and ``boxes2[j]``, in [-1, 1].
    """
    result: Tensor = torch.ops.visionq.pairwise_iou(boxes1, boxes2, "giou", float(eps))
    return result


def distance_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = SEED_EPS) -> Tensor:
    """DIoU of every pair (Zheng et al. 2020): ``iou - rho2 / c2``.

    ``rho2`` is the squared distance between the centres, ``c2`` the squared diagonal of the smallest
    enclosing box plus ``eps``. Shapes and dtypes as ``box_iou``.

    Returns:
        Tensor[N, M]: DIoU of ``boxes1[i]`` and ``boxes2[j]``, in [-1, 1].
    """
    result: Tensor = torch.ops.visionq.pairwise_iou(boxes1, boxes2, "diou", float(eps))
    return result


def complete_box_iou(boxes1: Tensor, boxes2: Tensor, eps: float = SEED_EPS) -> Tensor:
    """CIoU of every pair (Zheng et al. 2020): ``iou - (rho2 / c2 + v * alpha)``.

    ``v = 4 / pi^2 * (atan(w2 / h2) - atan(w1 / h1))^2`` and ``alpha = v / ((1 - iou + v) + eps)``, which is
    a constant for the gradient, as the seed computes it under ``torch.no_grad()``. The seed has no ``eps``
    in alpha and returns NaN for two identical boxes; with it, alpha is 0 there. Shapes and dtypes as
    ``box_iou``.

    Returns:
        Tensor[N, M]: CIoU of ``boxes1[i]`` and ``boxes2[j]``.
    """
    result: Tensor = torch.ops.visionq.pairwise_iou(boxes1, boxes2, "ciou", float(eps))
    return result


def soft_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float = 0.3,
    sigma: float = 0.5,
    method: Literal["gaussian", "linear"] = "gaussian",
    score_threshold: float = 0.001,
    *,
    idxs: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Soft-NMS (Bodla et al. 2017): decay the scores of overlapping boxes instead of dropping them.

    Repeatedly output the box with the highest current score (ties: the one first in the stable decreasing
    order of the original scores), then multiply the score of every remaining box by
    ``exp(-iou^2 / sigma)`` (gaussian) or, when ``iou > iou_threshold``, by ``1 - iou`` (linear), and drop
    boxes whose score is now ``<= score_threshold``. Boxes starting at or below it (or NaN) are never output.
    IoU is the seed's bbox_iou (1e-16 in the union), so empty boxes decay nothing.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): where the linear method starts decaying; unused by the gaussian one.
        sigma (float): the gaussian's width, > 0.
        method: ``"gaussian"`` or ``"linear"``.
        score_threshold (float): boxes are kept while their decayed score is > this.
        idxs (Tensor[N], optional): categories; with them, boxes only decay boxes of their own category.

    Returns:
        tuple[Tensor[K] (int64), Tensor[K]]: kept indices and their decayed scores, by decreasing decayed score.
    """
    result: tuple[Tensor, Tensor] = torch.ops.visionq.soft_nms(
        boxes, scores, idxs, float(iou_threshold), float(sigma), method, float(score_threshold)
    )
    return result


def diou_nms(boxes: Tensor, scores: Tensor, iou_threshold: float, *, idxs: Tensor | None = None) -> Tensor:
    """DIoU-NMS (Zheng et al. 2020): greedy NMS where a box is dropped when its DIoU with a kept box is > the
    threshold (the seed's DIoU with 1e-16 epsilons; the seed drops at ``>=``).

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): DIoU threshold.
        idxs (Tensor[N], optional): categories; with them NMS runs per category.

    Returns:
        Tensor[K] (int64): kept indices by decreasing score (ties: lower index first).
    """
    keep: Tensor = torch.ops.visionq.diou_nms(boxes, scores, idxs, float(iou_threshold))
    return keep


def merge_nms(
    boxes: Tensor, scores: Tensor, iou_threshold: float, *, idxs: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Merge (weighted) NMS: hard NMS whose kept boxes become the score-weighted mean of their cluster.

    The kept set is exactly ``nms``'s. A kept box's cluster is itself plus the boxes it suppresses at its step
    of the greedy loop (IoU > threshold, not removed by an earlier kept box), as in the seed's ``merge``;
    the merged box is ``sum(score * box) / sum(score)`` over the cluster (the kept box unchanged if the scores
    sum to 0; NaN if a score is NaN). Scores are not merged.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box; also the merge weights.
        iou_threshold (float): IoU threshold of the hard NMS.
        idxs (Tensor[N], optional): categories; with them NMS runs per category.

    Returns:
        tuple[Tensor[K] (int64), Tensor[K, 4]]: kept indices by decreasing score, and their merged boxes.
    """
    result: tuple[Tensor, Tensor] = torch.ops.visionq.merge_nms(boxes, scores, idxs, float(iou_threshold))
    return result


def and_nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float,
    *,
    min_overlap: float = 0.5,
    idxs: Tensor | None = None,
) -> Tensor:
    """ "And"-NMS, the seed's ``and``: hard NMS that drops isolated boxes to cut false positives.

    Run the greedy loop of ``nms``; at each kept box's step, output it only if some box still in play (lower
    in the order, not removed by an earlier kept box) overlaps it with IoU > ``min_overlap`` (0.5 in the
    seed). A box with no such neighbour still suppresses as usual, and the last box in play is never output
    (it has no neighbour left). The seed suppresses at IoU ``>=`` the threshold; here, as in ``nms``, at ``>``.

    Args:
        boxes (Tensor[N, 4]): boxes as ``(x1, y1, x2, y2)``.
        scores (Tensor[N]): one score per box.
        iou_threshold (float): IoU threshold of the hard NMS.
        min_overlap (float): the IoU a kept box needs with a neighbour to be output.
        idxs (Tensor[N], optional): categories; with them NMS runs per category.

    Returns:
        Tensor[K] (int64): output indices by decreasing score (ties: lower index first).
    """
    keep: Tensor = torch.ops.visionq.and_nms(boxes, scores, idxs, float(iou_threshold), float(min_overlap))
    return keep


from .postprocess import NMS_METHODS, nms_by_method, postprocess  # noqa: E402 -- built on the ops above
