"""kernels.batched_nms keeps exactly torchvision.ops.batched_nms's indices and order, on both of its paths."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

import kernels

from ._reference import random_boxes, random_scores, reference_nms


def assert_same_as_torchvision(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, thr: float) -> None:
    expected = torchvision.ops.batched_nms(boxes, scores, idxs, thr)
    kept = kernels.batched_nms(boxes, scores, idxs, thr)
    assert torch.equal(kept, expected), f"N={len(boxes)} thr={thr}"


def test_thousands_of_small_cases_match_torchvision(generator: torch.Generator) -> None:
    for case in range(1500):
        n = int(torch.randint(0, 48, (1,), generator=generator))
        boxes = random_boxes(n, generator, canvas=(20.0, 100.0)[case % 2])
        scores = random_scores(n, generator, levels=(0, 3)[case % 2])
        idxs = torch.randint(0, (1, 3, 10)[case % 3], (n,), generator=generator)
        assert_same_as_torchvision(boxes, scores, idxs, (0.3, 0.5, 0.8)[case % 3])


@pytest.mark.parametrize("n", [1001, 3000, 10000])  # above 1000 boxes torchvision switches to per-class NMS
@pytest.mark.parametrize("levels", [0, 50])
def test_per_class_path_matches_torchvision_including_ties(n: int, levels: int, generator: torch.Generator) -> None:
    boxes = random_boxes(n, generator, canvas=1000.0, max_side=121.0)
    scores = random_scores(n, generator, levels=levels)
    idxs = torch.randint(0, 80, (n,), generator=generator)
    for thr in (0.3, 0.5):
        assert_same_as_torchvision(boxes, scores, idxs, thr)


def test_classes_spread_over_threads_give_the_same_result(generator: torch.Generator) -> None:
    boxes = random_boxes(8000, generator, canvas=1000.0, max_side=121.0)
    scores = random_scores(8000, generator)
    idxs = torch.randint(0, 80, (8000,), generator=generator)
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            soft = torch.ops.visionq.soft_nms(boxes, scores, idxs, 0.3, 0.5, "gaussian", 0.01)
            results.append((torch.ops.visionq.batched_nms(boxes, scores, idxs, 0.5), *soft))
    finally:
        torch.set_num_threads(threads)
    for serial, parallel in zip(*results, strict=True):
        assert torch.equal(serial, parallel)


def test_torchvision_tie_order_matches_torchvisions_per_class_path(generator: torch.Generator) -> None:
    vanilla = torchvision.ops.boxes._batched_nms_vanilla  # the path torchvision takes above 1000 CPU boxes
    for case in range(300):
        n = int(torch.randint(1, 60, (1,), generator=generator))
        boxes = random_boxes(n, generator, canvas=40.0)
        scores = random_scores(n, generator, levels=3)
        idxs = torch.randint(0, 3, (n,), generator=generator)
        kept = torch.ops.visionq.batched_nms(boxes, scores, idxs, 0.5, True)
        assert torch.equal(kept, vanilla(boxes, scores, idxs, 0.5)), f"case {case}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tie_order_matches_torchvision_on_large_inputs_with_nans_and_signed_zeros(
    dtype: torch.dtype, generator: torch.Generator
) -> None:
    """Introsort's order of ties only shows on inputs far above its 16-element insertion-sort cut-off."""
    vanilla = torchvision.ops.boxes._batched_nms_vanilla
    for case in range(12):
        n = int(torch.randint(2000, 20000, (1,), generator=generator))
        boxes = random_boxes(n, generator, canvas=2000.0, max_side=60.0).to(dtype)
        scores = random_scores(n, generator, levels=(7, 300, 0)[case % 3], dtype=dtype)
        scores[torch.rand(n, generator=generator) < 0.01] = math.nan
        zeros = torch.rand(n, generator=generator) < 0.02
        scores[zeros] = torch.where(torch.rand(n, generator=generator) < 0.5, 0.0, -0.0).to(dtype)[zeros]
        idxs = torch.randint(0, 80, (n,), generator=generator)
        kept = torch.ops.visionq.batched_nms(boxes, scores, idxs, 0.5, True)
        assert torch.equal(kept, vanilla(boxes, scores, idxs, 0.5)), f"case {case}"


def test_per_class_kernel_is_exact_per_class_nms(generator: torch.Generator) -> None:
    boxes = random_boxes(300, generator, canvas=60.0)
    scores = random_scores(300, generator, levels=6)
    idxs = torch.randint(-3, 4, (300,), generator=generator)
    kept = torch.ops.visionq.batched_nms(boxes, scores, idxs, 0.4)
    assert torch.equal(kept, reference_nms(boxes, scores, 0.4, idxs))


def test_negative_coordinates_follow_torchvision_offsets(generator: torch.Generator) -> None:
    # With coordinates below -1 torchvision's offset trick lets classes overlap; we reproduce it exactly.
    boxes = random_boxes(200, generator, canvas=40.0) - 30
    scores = random_scores(200, generator)
    idxs = torch.randint(0, 5, (200,), generator=generator)
    assert_same_as_torchvision(boxes, scores, idxs, 0.5)


def test_nan_scores_and_float_or_wide_idxs(generator: torch.Generator) -> None:
    boxes = random_boxes(2000, generator, canvas=300.0)
    scores = random_scores(2000, generator)
    scores[::50] = math.nan
    idxs = torch.randint(0, 20, (2000,), generator=generator)
    for labels in (idxs, idxs.float(), idxs.to(torch.int32), idxs * 1_000_000_007):
        assert_same_as_torchvision(boxes, scores, labels, 0.5)
        assert_same_as_torchvision(boxes[:300], scores[:300], labels[:300], 0.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtypes(dtype: torch.dtype, generator: torch.Generator) -> None:
    for n in (200, 1500):
        boxes = random_boxes(n, generator, canvas=200.0).to(dtype)
        scores = random_scores(n, generator).to(dtype)
        idxs = torch.randint(0, 5, (n,), generator=generator)
        upcast = torch.float64 if dtype == torch.float64 else torch.float32
        expected = torchvision.ops.batched_nms(boxes.to(upcast), scores.to(upcast), idxs, 0.5)
        assert torch.equal(kernels.batched_nms(boxes, scores, idxs, 0.5), expected)


def test_empty_and_single_box() -> None:
    assert kernels.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5).shape == (0,)
    one = kernels.batched_nms(torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([1.0]), torch.tensor([7]), 0.5)
    assert one.tolist() == [0]


@pytest.mark.parametrize(
    ("idxs", "message"),
    [
        (torch.zeros(3, 1, dtype=torch.long), "batched_nms: idxs should be a 1d tensor, got 2D"),
        (torch.zeros(4, dtype=torch.long), "boxes and idxs should have the same number of elements in dimension 0"),
        (torch.zeros(3, dtype=torch.long, device="meta"), "boxes and idxs should be on the same device"),
    ],
)
def test_bad_idxs_raise_clear_errors(idxs: torch.Tensor, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        kernels.batched_nms(torch.rand(3, 4), torch.rand(3), idxs, 0.5)


def test_op_rejects_float_idxs() -> None:
    with pytest.raises(RuntimeError, match="batched_nms: idxs should be an integer tensor, got Float"):
        torch.ops.visionq.batched_nms(torch.rand(3, 4), torch.rand(3), torch.zeros(3), 0.5)


def test_opcheck(generator: torch.Generator) -> None:
    boxes = random_boxes(40, generator)
    args = (boxes, random_scores(40, generator), torch.randint(0, 3, (40,), generator=generator), 0.5)
    torch.library.opcheck(torch.ops.visionq.batched_nms.default, args)
