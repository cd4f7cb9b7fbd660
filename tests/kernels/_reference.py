"""Pure-torch references for the kernel tests, written from the papers and the seed (seeds/001 L223-425),
plus generators of seeded random boxes. Slow and obvious on purpose."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def random_boxes(
    n: int,
    generator: torch.Generator,
    canvas: float = 100.0,
    max_side: float = 40.0,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """n boxes (x1, y1, x2, y2) with corners uniform in [0, canvas) and sides uniform in [1, max_side)."""
    xy = torch.rand(n, 2, generator=generator, dtype=torch.float64) * canvas
    wh = 1 + torch.rand(n, 2, generator=generator, dtype=torch.float64) * (max_side - 1)
    return torch.cat((xy, xy + wh), dim=1).to(dtype)


def random_scores(n: int, generator: torch.Generator, levels: int = 0, dtype: torch.dtype = torch.float32) -> Tensor:
    """Uniform scores; with levels > 0, rounded to that many values so that exact ties are frequent."""
    scores = torch.rand(n, generator=generator, dtype=torch.float64)
    if levels > 0:
        scores = (scores * levels).floor() / levels
    return scores.to(dtype)


def boxes_with_iou(n: int, iou: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """torchvision's _create_tensors_with_iou: the last box has IoU = iou + 1e-5 with the first."""
    boxes = torch.rand(n, 4, generator=generator) * 100
    boxes[:, 2:] += boxes[:, :2]
    boxes[-1, :] = boxes[0, :]
    x0, _, x1, _ = boxes[-1].tolist()
    target = iou + 1e-5
    boxes[-1, 2] += (x1 - x0) * (1 - target) / target
    return boxes, torch.rand(n, generator=generator)


def by_score(keep: list[int] | Tensor, scores: Tensor) -> Tensor:
    """Indices sorted by decreasing score, ties (and NaNs, first) by increasing index."""
    kept = torch.as_tensor(keep, dtype=torch.long).sort().values
    return kept[scores[kept].sort(descending=True, stable=True).indices]


def nms_iou(box: Tensor, others: Tensor) -> Tensor:
    """torchvision's NMS overlap of one kept box against others: inter / (area_a + area_b - inter)."""
    w = (torch.minimum(box[2], others[:, 2]) - torch.maximum(box[0], others[:, 0])).clamp(min=0)
    h = (torch.minimum(box[3], others[:, 3]) - torch.maximum(box[1], others[:, 1])).clamp(min=0)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / (area + areas - inter)


def seed_bbox_iou(box1: Tensor, box2: Tensor, kind: str = "iou", eps: float = 1e-16) -> Tensor:
    """The seed's bbox_iou(box1, box2, GIoU/DIoU/CIoU) (seeds/001 L381-425): box1 is (4,), box2 is (M, 4).

    One change: CIoU's alpha is v / ((1 - iou + v) + eps) instead of v / (1 - iou + v), as documented.
    """
    b1_x1, b1_y1, b1_x2, b1_y2 = box1[0], box1[1], box1[2], box1[3]
    b2_x1, b2_y1, b2_x2, b2_y2 = box2[:, 0], box2[:, 1], box2[:, 2], box2[:, 3]
    inter = (torch.min(b1_x2, b2_x2) - torch.max(b1_x1, b2_x1)).clamp(0) * (
        torch.min(b1_y2, b2_y2) - torch.max(b1_y1, b2_y1)
    ).clamp(0)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1
    union = (w1 * h1 + eps) + w2 * h2 - inter
    iou = inter / union
    if kind == "iou":
        return iou
    cw = torch.max(b1_x2, b2_x2) - torch.min(b1_x1, b2_x1)
    ch = torch.max(b1_y2, b2_y2) - torch.min(b1_y1, b2_y1)
    if kind == "giou":
        c_area = cw * ch + eps
        return iou - (c_area - union) / c_area
    c2 = cw**2 + ch**2 + eps
    rho2 = ((b2_x1 + b2_x2) - (b1_x1 + b1_x2)) ** 2 / 4 + ((b2_y1 + b2_y2) - (b1_y1 + b1_y2)) ** 2 / 4
    if kind == "diou":
        return iou - rho2 / c2
    v = (4 / math.pi**2) * torch.pow(torch.atan(w2 / h2) - torch.atan(w1 / h1), 2)
    with torch.no_grad():
        alpha = v / ((1 - iou + v) + eps)
    return iou - (rho2 / c2 + v * alpha)


def _classes(n: int, idxs: Tensor | None) -> list[Tensor]:
    if idxs is None:
        return [torch.arange(n)]
    return [torch.nonzero(idxs == c).flatten() for c in idxs.unique()]


def _stable_desc(scores: Tensor, members: Tensor) -> list[int]:
    return members[scores[members].sort(descending=True, stable=True).indices].tolist()


def reference_nms(boxes: Tensor, scores: Tensor, thr: float, idxs: Tensor | None = None) -> Tensor:
    """Greedy hard NMS per class: drop a box whose IoU with a kept box is > thr (compared in float64)."""
    keep: list[int] = []
    for members in _classes(len(boxes), idxs):
        remaining = _stable_desc(scores, members)
        while remaining:
            k, rest = remaining[0], remaining[1:]
            keep.append(k)
            if not rest:
                break
            iou = nms_iou(boxes[k], boxes[rest]).double()
            remaining = [r for r, drop in zip(rest, (iou > thr).tolist(), strict=True) if not drop]
    return by_score(keep, scores)


def reference_diou_nms(boxes: Tensor, scores: Tensor, thr: float, idxs: Tensor | None = None) -> Tensor:
    """The seed's diounms loop, dropping at DIoU > thr (the seed drops at >=)."""
    keep: list[int] = []
    for members in _classes(len(boxes), idxs):
        remaining = _stable_desc(scores, members)
        while remaining:
            k, rest = remaining[0], remaining[1:]
            keep.append(k)
            if not rest:
                break
            diou = seed_bbox_iou(boxes[k], boxes[rest], "diou").double()
            remaining = [r for r, drop in zip(rest, (diou > thr).tolist(), strict=True) if not drop]
    return by_score(keep, scores)


def reference_merge_nms(boxes: Tensor, scores: Tensor, thr: float, idxs: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The seed's merge loop: each kept box becomes the score-weighted mean of itself and what it removes
    (itself unchanged when the weights sum to 0, where the seed divides by zero)."""
    merged: dict[int, Tensor] = {}
    for members in _classes(len(boxes), idxs):
        remaining = _stable_desc(scores, members)
        while remaining:
            k, rest = remaining[0], remaining[1:]
            drop = (nms_iou(boxes[k], boxes[rest]).double() > thr).tolist() if rest else []
            cluster = [k] + [r for r, d in zip(rest, drop, strict=True) if d]
            weights = scores[cluster].double()[:, None]
            total = weights.sum()
            mean = (weights * boxes[cluster].double()).sum(0) / total if total != 0 else boxes[k].double()
            merged[k] = mean.to(boxes.dtype)
            remaining = [r for r, d in zip(rest, drop, strict=True) if not d]
    keep = by_score(list(merged), scores)
    rows = torch.stack([merged[k] for k in keep.tolist()]) if len(keep) else boxes.new_zeros((0, 4))
    return keep, rows


def reference_and_nms(
    boxes: Tensor, scores: Tensor, thr: float, min_overlap: float = 0.5, idxs: Tensor | None = None
) -> Tensor:
    """The seed's and loop: output a kept box only if a box still in play overlaps it by IoU > min_overlap."""
    keep: list[int] = []
    for members in _classes(len(boxes), idxs):
        remaining = _stable_desc(scores, members)
        while len(remaining) > 1:
            k, rest = remaining[0], remaining[1:]
            iou = nms_iou(boxes[k], boxes[rest]).double()
            if bool((iou > min_overlap).any()):
                keep.append(k)
            remaining = [r for r, drop in zip(rest, (iou > thr).tolist(), strict=True) if not drop]
    return by_score(keep, scores)


def reference_soft_nms(
    boxes: Tensor,
    scores: Tensor,
    thr: float,
    sigma: float,
    method: str,
    score_threshold: float,
    idxs: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Soft-NMS (Bodla et al. 2017, Algorithm 1): select the best remaining box, decay the others by the seed's
    IoU, drop decayed scores <= score_threshold. Output by decreasing decayed score."""
    picked: list[int] = []
    values: list[Tensor] = []
    for members in _classes(len(boxes), idxs):
        order = torch.tensor(_stable_desc(scores, members), dtype=torch.long)
        current = scores[order].clone()
        alive = current.double() > score_threshold
        while bool(alive.any()):
            candidates = torch.nonzero(alive).flatten()
            best = candidates[current[candidates].argmax()]
            picked.append(int(order[best]))
            values.append(current[best].clone())
            alive[best] = False
            others = torch.nonzero(alive).flatten()
            if len(others) == 0:
                break
            iou = seed_bbox_iou(boxes[order[best]], boxes[order[others]], "iou")
            if method == "gaussian":
                weight = torch.exp(-(iou * iou) / sigma)
            else:
                weight = torch.where(iou.double() > thr, 1 - iou, torch.ones_like(iou))
            current[others] = current[others] * weight
            alive[others] = current[others].double() > score_threshold
    if not picked:
        return torch.zeros(0, dtype=torch.long), scores.new_zeros(0)
    decayed = torch.stack(values)
    order = decayed.sort(descending=True, stable=True).indices
    return torch.tensor(picked)[order], decayed[order]
