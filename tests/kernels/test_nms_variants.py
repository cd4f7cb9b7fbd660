"""Soft-NMS, DIoU-NMS, merge-NMS and and-NMS agree with the pure-torch references of _reference.py."""

from __future__ import annotations

import math

import pytest
import torch

import kernels

from ._reference import (
    random_boxes,
    random_scores,
    reference_and_nms,
    reference_diou_nms,
    reference_merge_nms,
    reference_soft_nms,
)


def random_case(case: int, generator: torch.Generator, n_max: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    n = int(torch.randint(0, n_max, (1,), generator=generator))
    boxes = random_boxes(n, generator, canvas=(30.0, 80.0)[case % 2])
    return boxes, random_scores(n, generator, levels=(0, 0, 4)[case % 3])


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_matches_reference(method: str, generator: torch.Generator) -> None:
    for case in range(150):
        boxes, scores = random_case(case, generator)
        idxs = torch.randint(0, 3, (len(boxes),), generator=generator) if case % 2 else None
        thr, sigma, floor = (0.3, 0.5, 0.001) if case % 3 else (0.5, 0.2, 0.3)
        keep, decayed = kernels.soft_nms(boxes, scores, thr, sigma, method, floor, idxs=idxs)  # type: ignore[arg-type]
        ref_keep, ref_decayed = reference_soft_nms(boxes, scores, thr, sigma, method, floor, idxs)
        assert torch.equal(keep, ref_keep), f"case {case}"
        torch.testing.assert_close(decayed, ref_decayed)


def test_soft_nms_properties(generator: torch.Generator) -> None:
    boxes = random_boxes(200, generator, canvas=60.0)
    scores = random_scores(200, generator)
    keep, decayed = kernels.soft_nms(boxes, scores, score_threshold=0.05)
    assert (decayed[:-1] >= decayed[1:]).all()  # by decreasing decayed score
    assert (decayed > 0.05).all() and (decayed <= scores[keep]).all()  # decay never raises a score
    assert keep[0] == scores.argmax()  # the best box is never decayed
    hard = kernels.nms(boxes, scores, 0.3)
    assert set(hard.tolist()) <= set(
        kernels.soft_nms(boxes, scores, 0.3, method="linear", score_threshold=0.0)[0].tolist()
    )


def test_soft_nms_drops_nan_scores_and_rejects_bad_parameters() -> None:
    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 6.0]])
    keep, _ = kernels.soft_nms(boxes, torch.tensor([math.nan, 0.5]))
    assert keep.tolist() == [1]
    with pytest.raises(RuntimeError, match="soft_nms: sigma should be > 0, got 0"):
        kernels.soft_nms(boxes, torch.rand(2), sigma=0.0)
    with pytest.raises(RuntimeError, match="method should be 'gaussian' or 'linear', got 'cubic'"):
        kernels.soft_nms(boxes, torch.rand(2), method="cubic")  # type: ignore[arg-type]


def test_diou_nms_matches_reference(generator: torch.Generator) -> None:
    for case in range(200):
        boxes, scores = random_case(case, generator)
        idxs = torch.randint(0, 3, (len(boxes),), generator=generator) if case % 2 else None
        thr = (0.0, 0.3, 0.5, 0.7)[case % 4]
        expected = reference_diou_nms(boxes, scores, thr, idxs)
        assert torch.equal(kernels.diou_nms(boxes, scores, thr, idxs=idxs), expected), f"case {case}"


def test_diou_nms_keeps_at_least_what_hard_nms_keeps(generator: torch.Generator) -> None:
    boxes = random_boxes(500, generator, canvas=200.0)
    scores = random_scores(500, generator)
    assert set(kernels.nms(boxes, scores, 0.5).tolist()) <= set(kernels.diou_nms(boxes, scores, 0.5).tolist())


def test_merge_nms_matches_reference(generator: torch.Generator) -> None:
    for case in range(200):
        boxes, scores = random_case(case, generator)
        idxs = torch.randint(0, 3, (len(boxes),), generator=generator) if case % 2 else None
        thr = (0.2, 0.5, 0.8)[case % 3]
        keep, merged = kernels.merge_nms(boxes, scores, thr, idxs=idxs)
        ref_keep, ref_merged = reference_merge_nms(boxes, scores, thr, idxs)
        assert torch.equal(keep, ref_keep), f"case {case}"
        torch.testing.assert_close(merged, ref_merged)


def test_merge_nms_keeps_the_nms_set_and_merges_inside_clusters(generator: torch.Generator) -> None:
    boxes = random_boxes(400, generator, canvas=150.0)
    scores = random_scores(400, generator) + 0.01
    keep, merged = kernels.merge_nms(boxes, scores, 0.5)
    assert torch.equal(keep, kernels.nms(boxes, scores, 0.5))
    assert (kernels.box_iou(merged, boxes[keep]).diagonal() > 0.5).all()


def test_merge_nms_with_zero_scores_keeps_the_box() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0]])
    keep, merged = kernels.merge_nms(boxes, torch.zeros(2), 0.5)
    assert keep.tolist() == [0] and torch.equal(merged, boxes[:1])


def test_and_nms_matches_reference(generator: torch.Generator) -> None:
    for case in range(200):
        boxes, scores = random_case(case, generator)
        idxs = torch.randint(0, 3, (len(boxes),), generator=generator) if case % 2 else None
        thr, overlap = ((0.3, 0.5), (0.5, 0.5), (0.6, 0.2))[case % 3]
        expected = reference_and_nms(boxes, scores, thr, overlap, idxs)
        assert torch.equal(kernels.and_nms(boxes, scores, thr, min_overlap=overlap, idxs=idxs), expected), case


def test_and_nms_drops_isolated_boxes() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.5, 0.5, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert kernels.nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert kernels.and_nms(boxes, scores, 0.5).tolist() == [0]  # box 2 overlaps nothing


@pytest.mark.parametrize("op", ["soft", "diou", "merge", "and"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_dtypes_and_empty_input(op: str, dtype: torch.dtype, generator: torch.Generator) -> None:
    boxes = random_boxes(50, generator).to(dtype)
    scores = random_scores(50, generator).to(dtype)
    run = {
        "soft": lambda b, s: kernels.soft_nms(b, s)[0],
        "diou": lambda b, s: kernels.diou_nms(b, s, 0.5),
        "merge": lambda b, s: kernels.merge_nms(b, s, 0.5)[0],
        "and": lambda b, s: kernels.and_nms(b, s, 0.5),
    }[op]
    upcast = torch.float64 if dtype == torch.float64 else torch.float32
    assert torch.equal(run(boxes, scores), run(boxes.to(upcast), scores.to(upcast)))
    assert run(boxes[:0], scores[:0]).shape == (0,)
    if op == "merge":
        assert kernels.merge_nms(boxes, scores, 0.5)[1].dtype == dtype


def test_variant_errors_name_the_op() -> None:
    with pytest.raises(RuntimeError, match="merge_nms: boxes should be a 2d tensor, got 1D"):
        kernels.merge_nms(torch.rand(4), torch.rand(4), 0.5)
    with pytest.raises(RuntimeError, match="and_nms: idxs should be an integer tensor, got Float"):
        kernels.and_nms(torch.rand(3, 4), torch.rand(3), 0.5, idxs=torch.zeros(3))


@pytest.mark.parametrize(
    ("op", "extra"),
    [
        (torch.ops.visionq.diou_nms.default, (0.5,)),
        (torch.ops.visionq.merge_nms.default, (0.5,)),
        (torch.ops.visionq.and_nms.default, (0.5, 0.5)),
        (torch.ops.visionq.soft_nms.default, (0.3, 0.5, "gaussian", 0.001)),
    ],
)
def test_opcheck(op: torch._ops.OpOverload, extra: tuple[object, ...], generator: torch.Generator) -> None:
    boxes = random_boxes(30, generator)
    idxs = torch.randint(0, 3, (30,), generator=generator)
    torch.library.opcheck(op, (boxes, random_scores(30, generator), idxs, *extra))
