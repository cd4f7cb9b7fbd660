"""kernels.nms keeps exactly torchvision.ops.nms's indices, in the same order, on the CPU."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

import kernels

from ._reference import boxes_with_iou, random_boxes, random_scores, reference_nms

THRESHOLDS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def assert_same_as_torchvision(boxes: torch.Tensor, scores: torch.Tensor, thr: float) -> None:
    expected = torchvision.ops.nms(boxes, scores, thr)
    kept = kernels.nms(boxes, scores, thr)
    assert kept.dtype == torch.int64
    assert torch.equal(kept, expected), f"N={len(boxes)} thr={thr}: {kept.tolist()} != {expected.tolist()}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_thousands_of_random_cases_match_torchvision(dtype: torch.dtype, generator: torch.Generator) -> None:
    for case in range(1500):
        n = int(torch.randint(0, 48, (1,), generator=generator))
        canvas = (20.0, 100.0, 400.0)[case % 3]  # dense to sparse
        boxes = random_boxes(n, generator, canvas=canvas, dtype=dtype)
        scores = random_scores(n, generator, levels=(0, 4, 1)[case % 3], dtype=dtype)  # ties, all tied
        thr = THRESHOLDS[case % len(THRESHOLDS)] if case % 2 else float(torch.rand(1, generator=generator))
        assert_same_as_torchvision(boxes, scores, thr)


@pytest.mark.parametrize("n", [300, 1000, 3000])
@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_large_inputs_on_the_grid_path_match_torchvision(n: int, thr: float, generator: torch.Generator) -> None:
    boxes = random_boxes(n, generator, canvas=1000.0, max_side=121.0)
    assert_same_as_torchvision(boxes, random_scores(n, generator), thr)
    assert_same_as_torchvision(boxes, random_scores(n, generator, levels=8), thr)


def adversarial_layouts(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The issue's adversarial layouts, plus outliers that the grid keeps in its scan-always list."""
    centre = 500 + torch.randn(n, 2, generator=generator) * 3
    side = 100 + torch.rand(n, 2, generator=generator) * 10
    extreme = random_boxes(n, generator, canvas=1000.0, max_side=4.0)
    extreme[: n // 2, 2] += 600  # very wide
    extreme[n // 2 :, 3] += 600  # very tall
    mixed = random_boxes(n, generator, canvas=1000.0, max_side=30.0)
    mixed[::25, 2:] += 700  # 4% huge boxes
    return {
        "dense_cluster": torch.cat((centre - side / 2, centre + side / 2), dim=1),
        "whole_canvas": torch.cat(
            (torch.rand(n, 2, generator=generator) * 5, 995 + torch.rand(n, 2, generator=generator) * 5), 1
        ),
        "duplicates": random_boxes(max(1, n // 50), generator, canvas=1000.0, max_side=121.0).repeat(50, 1)[:n],
        "extreme_aspect": extreme,
        "outliers": mixed,
    }


@pytest.mark.parametrize("layout", ["dense_cluster", "whole_canvas", "duplicates", "extreme_aspect", "outliers"])
def test_adversarial_layouts_match_torchvision(layout: str, generator: torch.Generator) -> None:
    boxes = adversarial_layouts(2000, generator)[layout]
    for thr in (0.1, 0.5, 0.9):
        assert_same_as_torchvision(boxes, random_scores(len(boxes), generator), thr)
        assert_same_as_torchvision(boxes, random_scores(len(boxes), generator, levels=3), thr)


def test_duplicate_boxes_keep_the_first_of_equal_scores() -> None:
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 4 + [[20.0, 20.0, 30.0, 30.0]] * 2)
    scores = torch.tensor([0.5, 0.9, 0.9, 0.1, 0.2, 0.2])
    assert kernels.nms(boxes, scores, 0.5).tolist() == [1, 4]
    assert_same_as_torchvision(boxes, scores, 0.5)


def test_zero_area_and_inverted_boxes_never_suppress(generator: torch.Generator) -> None:
    boxes = random_boxes(200, generator)
    boxes[::3, 2] = boxes[::3, 0]  # zero width
    boxes[1::5, 1], boxes[1::5, 3] = boxes[1::5, 3].clone(), boxes[1::5, 1].clone()  # inverted in y
    boxes[2::7] = boxes[2::7, [2, 1, 0, 3]]  # inverted in x
    scores = random_scores(200, generator)
    for thr in (-0.5, -1e-9, 0.0, 0.5):
        assert_same_as_torchvision(boxes, scores, thr)
    degenerate = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    kept = kernels.nms(boxes, scores, 0.0)
    assert set(torch.nonzero(degenerate).flatten().tolist()) <= set(kept.tolist())


@pytest.mark.parametrize("scale", [1e-30, 1e-3, 1e6, 1e18, 1e30, 3e37])
def test_huge_and_tiny_coordinates(scale: float, generator: torch.Generator) -> None:
    boxes = random_boxes(400, generator, canvas=100.0, max_side=60.0) * scale  # 3e37: areas overflow to inf
    scores = random_scores(400, generator)
    for thr in (0.2, 0.5):
        assert_same_as_torchvision(boxes, scores, thr)
        assert_same_as_torchvision(boxes.double(), scores.double(), thr)


def test_subnormal_coordinates(generator: torch.Generator) -> None:
    boxes = random_boxes(100, generator) * 1e-40  # float32 subnormals
    assert_same_as_torchvision(boxes, random_scores(100, generator), 0.5)


def test_nan_and_inf_scores_follow_torch_sort(generator: torch.Generator) -> None:
    boxes = random_boxes(300, generator, canvas=50.0)
    scores = random_scores(300, generator)
    scores[::7] = math.nan
    scores[1::11] = math.inf
    scores[2::13] = -math.inf
    for thr in (0.3, 0.6):
        assert_same_as_torchvision(boxes, scores, thr)
    # NaN scores sort first, so the first NaN box is kept before any finite one.
    assert kernels.nms(boxes, scores, 0.5)[0] == 0


def test_non_finite_coordinates(generator: torch.Generator) -> None:
    boxes = random_boxes(300, generator, canvas=50.0)
    boxes[::9, 0] = math.nan
    boxes[1::10, 2] = math.inf
    boxes[2::17, 1] = -math.inf
    boxes[3::19] = math.nan
    scores = random_scores(300, generator)
    for thr in (-0.1, 0.0, 0.4):
        assert_same_as_torchvision(boxes, scores, thr)


def test_threshold_edge_values(generator: torch.Generator) -> None:
    boxes = random_boxes(500, generator, canvas=60.0)
    scores = random_scores(500, generator)
    for thr in (-1.0, 0.0, 1e-7, 0.1 + 1e-9, 1.0, 1.5, math.inf, -math.inf, math.nan):
        assert_same_as_torchvision(boxes, scores, thr)


@pytest.mark.parametrize("iou", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("seed", range(5))
def test_box_just_above_the_threshold_is_suppressed(iou: float, seed: int) -> None:
    boxes, scores = boxes_with_iou(1000, iou, torch.Generator().manual_seed(seed))
    scores[0] = 2.0  # box 0 is kept first, so the planted last box (IoU = iou + 1e-5) must go
    kept = kernels.nms(boxes, scores, iou)
    assert torch.equal(kept, torchvision.ops.nms(boxes, scores, iou))
    assert kept[0] == 0 and len(boxes) - 1 not in kept.tolist()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_float32_of_the_upcast_inputs(dtype: torch.dtype, generator: torch.Generator) -> None:
    for case in range(100):
        boxes = random_boxes(60, generator, canvas=(50.0, 500.0)[case % 2]).to(dtype)
        scores = random_scores(60, generator, levels=(0, 16)[case % 2]).to(dtype)
        expected = torchvision.ops.nms(boxes.float(), scores.float(), 0.5)
        assert torch.equal(kernels.nms(boxes, scores, 0.5), expected)


def test_agrees_with_the_pure_torch_reference(generator: torch.Generator) -> None:
    for case in range(60):
        boxes = random_boxes(40, generator, canvas=50.0)
        scores = random_scores(40, generator, levels=(0, 5)[case % 2])
        thr = float(torch.rand(1, generator=generator))
        assert torch.equal(kernels.nms(boxes, scores, thr), reference_nms(boxes, scores, thr))


def test_empty_and_single_box() -> None:
    empty = kernels.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.int64 and empty.shape == (0,)
    assert kernels.nms(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), torch.tensor([0.3]), 0.5).tolist() == [0]


def test_non_contiguous_inputs(generator: torch.Generator) -> None:
    boxes = random_boxes(100, generator).t().contiguous().t()  # column-major
    scores = random_scores(200, generator)[::2]
    assert_same_as_torchvision(boxes, scores, 0.5)


@pytest.mark.parametrize(
    ("boxes", "scores", "message"),
    [
        (torch.rand(4), torch.rand(4), "nms: boxes should be a 2d tensor, got 1D"),
        (torch.rand(3, 5), torch.rand(3), "nms: boxes should have 4 elements in dimension 1, got 5"),
        (torch.rand(3, 4), torch.rand(3, 1), "nms: scores should be a 1d tensor, got 2D"),
        (torch.rand(3, 4), torch.rand(4), "same number of elements in dimension 0, got 3 and 4"),
        (torch.rand(3, 4), torch.rand(3).double(), "same dtype, got Float and Double"),
        (torch.ones(3, 4, dtype=torch.int32), torch.ones(3, dtype=torch.int32), "floating point tensor"),
    ],
)
def test_bad_inputs_raise_clear_errors(boxes: torch.Tensor, scores: torch.Tensor, message: str) -> None:
    with pytest.raises(RuntimeError, match=message.replace("[", r"\[")):
        kernels.nms(boxes, scores, 0.5)


def test_device_mismatch_is_reported() -> None:
    with pytest.raises(RuntimeError, match="boxes and scores should be on the same device, got cpu and meta"):
        kernels.nms(torch.rand(3, 4), torch.rand(3, device="meta"), 0.5)


def test_opcheck(generator: torch.Generator) -> None:
    boxes = random_boxes(50, generator)
    torch.library.opcheck(torch.ops.visionq.nms.default, (boxes, random_scores(50, generator), 0.5))
