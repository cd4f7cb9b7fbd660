"""The CUDA kernels' logic, run on the CPU by the harness ops over their whole grid, equals the CPU ops; on a
machine with a GPU the CUDA ops themselves are compared with the CPU ops (needs_cuda)."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest
import torch
import torchvision

import kernels
from kernels import _C

from ._reference import random_boxes, random_scores

OPS = ("nms", "batched_nms", "diou_nms", "merge_nms", "and_nms", "soft_nms", "pairwise_iou")


def harness(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, thr: float, variant: str):  # type: ignore[no-untyped-def]
    return torch.ops.visionq._nms_mask_cpu_harness(boxes, scores, idxs, thr, variant, 0.5)


def cpu_op(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor | None, thr: float, variant: str):  # type: ignore[no-untyped-def]
    if variant == "nms":
        keep = (
            kernels.nms(boxes, scores, thr) if idxs is None else torch.ops.visionq.batched_nms(boxes, scores, idxs, thr)
        )
        return keep, None
    if variant == "diou":
        return kernels.diou_nms(boxes, scores, thr, idxs=idxs), None
    if variant == "and":
        return kernels.and_nms(boxes, scores, thr, idxs=idxs), None
    return kernels.merge_nms(boxes, scores, thr, idxs=idxs)


def random_inputs(case: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    n = (0, 1, 63, 64, 65, 130)[case % 6] if case < 12 else int(torch.randint(0, 200, (1,), generator=generator))
    boxes = random_boxes(
        n, generator, canvas=(30.0, 120.0)[case % 2], dtype=(torch.float32, torch.float64)[case % 5 == 0]
    )
    scores = random_scores(n, generator, levels=(0, 5)[case % 2], dtype=boxes.dtype)
    if case % 7 == 3 and n:
        scores[:: max(1, n // 5)] = math.nan
        boxes[1 :: max(1, n // 4), 2] = boxes[1 :: max(1, n // 4), 0]  # zero width
    idxs = torch.randint(0, 4, (n,), generator=generator) if case % 3 == 1 else None
    return boxes, scores, idxs


@pytest.mark.parametrize("variant", ["nms", "diou", "merge", "and"])
def test_mask_pipeline_equals_the_cpu_op(variant: str, generator: torch.Generator) -> None:
    for case in range(300):
        boxes, scores, idxs = random_inputs(case, generator)
        thr = (
            (-0.1, 0.0, 0.3, 0.5, 0.9, math.nan)[case % 6]
            if case % 4 == 0
            else float(torch.rand(1, generator=generator))
        )
        keep, merged = harness(boxes, scores, idxs, thr, variant)
        expected_keep, expected_merged = cpu_op(boxes, scores, idxs, thr, variant)
        assert torch.equal(keep, expected_keep), f"case {case}"
        if variant == "merge":  # bit for bit; a NaN score makes its cluster's mean NaN on both
            torch.testing.assert_close(merged, expected_merged, rtol=0, atol=0, equal_nan=True)


def test_mask_pipeline_on_many_blocks_equals_torchvision(generator: torch.Generator) -> None:
    boxes = random_boxes(2500, generator, canvas=1000.0, max_side=121.0)  # 40 column blocks
    scores = random_scores(2500, generator, levels=100)
    keep, _ = harness(boxes, scores, None, 0.5, "nms")
    assert torch.equal(keep, torchvision.ops.nms(boxes, scores, 0.5))


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_kernel_equals_the_cpu_op(method: str, generator: torch.Generator) -> None:
    for case in range(150):
        boxes, scores, idxs = random_inputs(case, generator)
        args = (boxes, scores, idxs, 0.3, 0.5, method, (0.001, 0.2)[case % 2])
        keep, decayed = torch.ops.visionq._soft_nms_cpu_harness(*args)
        expected_keep, expected_decayed = torch.ops.visionq.soft_nms(*args)
        assert torch.equal(keep, expected_keep), f"case {case}"
        assert torch.equal(decayed, expected_decayed), f"case {case}"


def test_cuda_kernels_are_registered_exactly_when_built_with_cuda() -> None:
    for op in OPS:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"visionq::{op}", "CUDA") == _C.built_with_cuda, op


def _nvcc() -> Path | None:
    """The nvcc setup.py would find: $CUDA_HOME, else PATH, else /usr/local/cuda*."""
    homes = [Path(os.environ["CUDA_HOME"])] if os.environ.get("CUDA_HOME") else []
    on_path = shutil.which("nvcc")
    homes += [Path(on_path).resolve().parent.parent] if on_path else []
    homes += sorted(Path("/usr/local").glob("cuda*"), reverse=True)
    return next((home / "bin" / "nvcc" for home in homes if (home / "bin" / "nvcc").is_file()), None)


def test_the_build_compiles_cuda_wherever_nvcc_and_a_cuda_torch_exist() -> None:
    nvcc = _nvcc()
    if torch.version.cuda is None or nvcc is None or os.environ.get("VISIONQ_BUILD_CUDA") == "0":
        pytest.skip(f"no CUDA toolchain: torch.version.cuda={torch.version.cuda}, nvcc={nvcc}")
    assert _C.built_with_cuda, f"{nvcc} exists but kernels._C was built without the CUDA kernels"


def test_every_op_has_a_cpu_kernel() -> None:
    for op in OPS:
        assert torch._C._dispatch_has_kernel_for_dispatch_key(f"visionq::{op}", "CPU"), op


@pytest.mark.needs_cuda
@pytest.mark.parametrize("variant", ["nms", "diou", "merge", "and"])
def test_cuda_equals_cpu(variant: str, generator: torch.Generator) -> None:
    for case in range(100):
        boxes, scores, idxs = random_inputs(case, generator)
        thr = float(torch.rand(1, generator=generator))
        expected_keep, expected_merged = cpu_op(boxes, scores, idxs, thr, variant)
        cuda_idxs = None if idxs is None else idxs.cuda()
        keep, merged = cpu_op(boxes.cuda(), scores.cuda(), cuda_idxs, thr, variant)
        assert keep.device.type == "cuda"
        assert torch.equal(keep.cpu(), expected_keep), f"case {case}"
        if variant == "merge":
            torch.testing.assert_close(merged.cpu(), expected_merged)


def assert_same_up_to_ties(kept: torch.Tensor, expected: torch.Tensor, scores: torch.Tensor) -> None:
    """Same kept set, same score sequence: only boxes of equal score may be listed in another order."""
    assert set(kept.tolist()) == set(expected.tolist())
    assert torch.equal(scores[kept], scores[expected])


@pytest.mark.needs_cuda
def test_cuda_nms_agrees_with_torchvision_up_to_ties(generator: torch.Generator) -> None:
    for n in (100, 2000, 30000):  # 30000 boxes: torchvision's per-class path on CUDA
        boxes = random_boxes(n, generator, canvas=1000.0, max_side=121.0).cuda()
        scores = random_scores(n, generator).cuda()
        idxs = torch.randint(0, 80, (n,), generator=generator).cuda()
        assert_same_up_to_ties(kernels.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5), scores)
        batched = kernels.batched_nms(boxes, scores, idxs, 0.5)
        assert batched.device.type == "cuda"
        assert_same_up_to_ties(batched, torchvision.ops.batched_nms(boxes, scores, idxs, 0.5), scores)


@pytest.mark.needs_cuda
def test_cuda_soft_nms_and_pairwise_iou_equal_cpu(generator: torch.Generator) -> None:
    boxes = random_boxes(300, generator, canvas=100.0)
    scores = random_scores(300, generator)
    idxs = torch.randint(0, 5, (300,), generator=generator)
    keep, decayed = kernels.soft_nms(boxes.cuda(), scores.cuda(), idxs=idxs.cuda())
    expected_keep, expected_decayed = kernels.soft_nms(boxes, scores, idxs=idxs)
    assert torch.equal(keep.cpu(), expected_keep)
    torch.testing.assert_close(decayed.cpu(), expected_decayed)
    for fn in (kernels.box_iou, kernels.generalized_box_iou, kernels.distance_box_iou, kernels.complete_box_iou):
        torch.testing.assert_close(fn(boxes.cuda(), boxes[:50].cuda()).cpu(), fn(boxes, boxes[:50]))
