"""The pairwise IoU family matches the seed's bbox_iou formulas, epsilons and CIoU gradient."""

from __future__ import annotations

import pytest
import torch
import torchvision

import kernels

from ._reference import random_boxes, seed_bbox_iou

FUNCTIONS = {
    "iou": kernels.box_iou,
    "giou": kernels.generalized_box_iou,
    "diou": kernels.distance_box_iou,
    "ciou": kernels.complete_box_iou,
}


def reference_matrix(boxes1: torch.Tensor, boxes2: torch.Tensor, kind: str, eps: float = 1e-16) -> torch.Tensor:
    return torch.stack([seed_bbox_iou(box, boxes2, kind, eps) for box in boxes1])


@pytest.mark.parametrize("kind", list(FUNCTIONS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_the_seed_formula(kind: str, dtype: torch.dtype, generator: torch.Generator) -> None:
    boxes1 = random_boxes(37, generator, canvas=50.0, dtype=dtype)
    boxes2 = random_boxes(23, generator, canvas=50.0, dtype=dtype)
    boxes2[::5, 2] = boxes2[::5, 0]  # zero width
    boxes1[::7] = boxes2[:6].repeat(1, 1)[: len(boxes1[::7])]  # identical pairs
    result = FUNCTIONS[kind](boxes1, boxes2)
    assert result.shape == (37, 23) and result.dtype == dtype
    torch.testing.assert_close(result, reference_matrix(boxes1, boxes2, kind))


def test_known_values() -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    iou = 1 / 7
    assert kernels.box_iou(a, b).item() == pytest.approx(iou)
    assert kernels.generalized_box_iou(a, b).item() == pytest.approx(iou - (9 - 7) / 9)
    assert kernels.distance_box_iou(a, b).item() == pytest.approx(iou - 2 / 18)
    assert kernels.complete_box_iou(a, b).item() == pytest.approx(iou - 2 / 18)  # same aspect ratio: v = 0


def test_epsilons_keep_degenerate_pairs_finite() -> None:
    point = torch.tensor([[1.0, 1.0, 1.0, 1.0]])
    box = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    assert kernels.box_iou(point, point).item() == 0.0  # 0 / 1e-16, where eps=0 gives NaN
    assert kernels.box_iou(point, point, eps=0.0).isnan().item()
    assert kernels.generalized_box_iou(point, point).item() == 0.0
    assert kernels.distance_box_iou(point, point).item() == 0.0
    assert kernels.complete_box_iou(box, box).item() == 1.0  # the seed's alpha would be 0 / 0 here
    assert torch.isfinite(kernels.complete_box_iou(random_boxes(20, torch.Generator()), box)).all()


def test_agrees_with_torchvision_on_valid_boxes(generator: torch.Generator) -> None:
    boxes1 = random_boxes(30, generator, dtype=torch.float64)
    boxes2 = random_boxes(40, generator, dtype=torch.float64)
    torch.testing.assert_close(kernels.box_iou(boxes1, boxes2, eps=0.0), torchvision.ops.box_iou(boxes1, boxes2))
    torch.testing.assert_close(
        kernels.generalized_box_iou(boxes1, boxes2, eps=0.0), torchvision.ops.generalized_box_iou(boxes1, boxes2)
    )
    torch.testing.assert_close(
        kernels.distance_box_iou(boxes1, boxes2, eps=1e-7), torchvision.ops.distance_box_iou(boxes1, boxes2, eps=1e-7)
    )


@pytest.mark.parametrize("kind", list(FUNCTIONS))
def test_gradients_follow_the_formula_with_ciou_alpha_constant(kind: str, generator: torch.Generator) -> None:
    boxes1 = random_boxes(6, generator, dtype=torch.float64).requires_grad_()
    boxes2 = random_boxes(5, generator, dtype=torch.float64).requires_grad_()
    weights = torch.rand(6, 5, generator=generator, dtype=torch.float64)
    grads = torch.autograd.grad((FUNCTIONS[kind](boxes1, boxes2) * weights).sum(), (boxes1, boxes2))
    expected = torch.autograd.grad((reference_matrix(boxes1, boxes2, kind) * weights).sum(), (boxes1, boxes2))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)
    if kind == "ciou":  # alpha with grad gives a different gradient, so the test above can tell
        alpha_with_grad = _ciou_with_alpha_grad(boxes1, boxes2)
        other = torch.autograd.grad((alpha_with_grad * weights).sum(), (boxes1,))[0]
        assert not torch.allclose(other, grads[0])


def _ciou_with_alpha_grad(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    a, b = boxes1[:, None], boxes2[None]
    w1, h1, w2, h2 = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1], b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    v = (4 / torch.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    iou = kernels.box_iou(boxes1, boxes2)
    diou = kernels.distance_box_iou(boxes1, boxes2)
    return diou - v * (v / ((1 - iou + v) + 1e-16))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_computes_in_float32(dtype: torch.dtype, generator: torch.Generator) -> None:
    boxes1 = random_boxes(10, generator).to(dtype)
    boxes2 = random_boxes(12, generator).to(dtype)
    result = kernels.complete_box_iou(boxes1, boxes2)
    assert result.dtype == dtype
    torch.testing.assert_close(result, kernels.complete_box_iou(boxes1.float(), boxes2.float()).to(dtype))


def test_empty_inputs() -> None:
    assert kernels.box_iou(torch.zeros(0, 4), torch.rand(3, 4)).shape == (0, 3)
    assert kernels.generalized_box_iou(torch.rand(2, 4), torch.zeros(0, 4)).shape == (2, 0)


@pytest.mark.parametrize(
    ("boxes1", "boxes2", "message"),
    [
        (torch.rand(3, 5), torch.rand(2, 4), r"boxes1 should have shape \[N, 4\], got \[3, 5\]"),
        (torch.rand(3, 4), torch.rand(4), r"boxes2 should have shape \[M, 4\], got \[4\]"),
        (torch.rand(3, 4), torch.rand(2, 4).double(), "boxes1 and boxes2 should have the same dtype"),
        (torch.rand(3, 4), torch.rand(2, 4, device="meta"), "boxes1 and boxes2 should be on the same device"),
    ],
)
def test_bad_inputs_raise_clear_errors(boxes1: torch.Tensor, boxes2: torch.Tensor, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        kernels.box_iou(boxes1, boxes2)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(RuntimeError, match="kind should be one of 'iou', 'giou', 'diou', 'ciou', got 'eiou'"):
        torch.ops.visionq.pairwise_iou(torch.rand(2, 4), torch.rand(2, 4), "eiou", 1e-16)


# opcheck clones the inputs (non-leaf tensors that require grad) and torch's own fake-tensor converter then reads
# their .grad (torch/_subclasses/meta_utils.py safe_grad), which warns; the warning is torch's, not the op's.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf Tensor:UserWarning")
def test_opcheck(generator: torch.Generator) -> None:  # CIoU exercises every term of the formula and its backward
    boxes1 = random_boxes(5, generator, dtype=torch.float64).requires_grad_()
    boxes2 = random_boxes(4, generator, dtype=torch.float64).requires_grad_()
    torch.library.opcheck(torch.ops.visionq.pairwise_iou.default, (boxes1, boxes2, "ciou", 1e-16))
