"""Loads the compiled ops (``kernels._C``) and registers what the C++ side cannot: fake kernels and autograd.

The fake kernels let the ops run under FakeTensor / ``torch.compile``; they repeat the C++ input checks of
``csrc/common/checks.h`` word for word, as torchvision's ``_meta_registrations.py`` does for ``nms``. The
NMS outputs have data-dependent sizes, so they get unbacked symbolic sizes.
"""

from __future__ import annotations

import importlib

import torch
from torch import Tensor

try:
    _C = importlib.import_module(f"{__package__}._C")  # loading the library registers torch.ops.visionq.*
except ImportError as exc:
    raise ImportError(
        "visionq's compiled NMS kernels (kernels._C) are missing or cannot be loaded. Build them from the "
        "repository root with\n"
        "    pip install --no-build-isolation --no-deps -e .\n"
        "and, for the CUDA kernels, CUDA_HOME=/usr/local/cuda TORCH_CUDA_ARCH_LIST='8.0;9.0' in the environment.\n"
        f"Loading failed with: {exc}"
    ) from exc

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_boxes_and_scores(dets: Tensor, scores: Tensor, op: str) -> None:
    """The checks of ``check_boxes_and_scores`` in csrc/common/checks.h, with the same messages."""
    torch._check(dets.dim() == 2, lambda: f"{op}: boxes should be a 2d tensor, got {dets.dim()}D")
    torch._check(dets.shape[1] == 4, lambda: f"{op}: boxes should have 4 elements in dimension 1, got {dets.shape[1]}")
    torch._check(scores.dim() == 1, lambda: f"{op}: scores should be a 1d tensor, got {scores.dim()}D")
    torch._check(
        dets.shape[0] == scores.shape[0],
        lambda: (
            f"{op}: boxes and scores should have the same number of elements in dimension 0, "
            f"got {dets.shape[0]} and {scores.shape[0]}"
        ),
    )
    torch._check(
        dets.device == scores.device,
        lambda: f"{op}: boxes and scores should be on the same device, got {dets.device} and {scores.device}",
    )
    torch._check(
        dets.dtype in FLOAT_DTYPES,
        lambda: (
            f"{op}: boxes should be a floating point tensor (float16, bfloat16, float32 or float64), got {dets.dtype}"
        ),
    )
    torch._check(
        dets.dtype == scores.dtype,
        lambda: f"{op}: boxes and scores should have the same dtype, got {dets.dtype} and {scores.dtype}",
    )


def check_idxs(dets: Tensor, idxs: Tensor | None, op: str) -> None:
    """The checks of ``check_idxs`` in csrc/common/checks.h (idxs may be absent)."""
    if idxs is None:
        return
    torch._check(idxs.dim() == 1, lambda: f"{op}: idxs should be a 1d tensor, got {idxs.dim()}D")
    torch._check(
        idxs.shape[0] == dets.shape[0],
        lambda: (
            f"{op}: boxes and idxs should have the same number of elements in dimension 0, "
            f"got {dets.shape[0]} and {idxs.shape[0]}"
        ),
    )
    torch._check(
        idxs.device == dets.device,
        lambda: f"{op}: boxes and idxs should be on the same device, got {dets.device} and {idxs.device}",
    )
    torch._check(
        not idxs.dtype.is_floating_point and not idxs.dtype.is_complex and idxs.dtype != torch.bool,
        lambda: f"{op}: idxs should be an integer tensor, got {idxs.dtype}",
    )


def _kept(dets: Tensor) -> Tensor:
    """An int64 vector whose length (the number of kept boxes) is only known at run time."""
    size = torch.library.get_ctx().new_dynamic_size()
    return dets.new_empty((size,), dtype=torch.long)


def _nms_fake(dets: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    check_boxes_and_scores(dets, scores, "nms")
    return _kept(dets)


def _batched_nms_fake(
    dets: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float, torchvision_tie_order: bool = False
) -> Tensor:
    check_boxes_and_scores(dets, scores, "batched_nms")
    check_idxs(dets, idxs, "batched_nms")
    return _kept(dets)


def _diou_nms_fake(dets: Tensor, scores: Tensor, idxs: Tensor | None, iou_threshold: float) -> Tensor:
    check_boxes_and_scores(dets, scores, "diou_nms")
    check_idxs(dets, idxs, "diou_nms")
    return _kept(dets)


def _merge_nms_fake(dets: Tensor, scores: Tensor, idxs: Tensor | None, iou_threshold: float) -> tuple[Tensor, Tensor]:
    check_boxes_and_scores(dets, scores, "merge_nms")
    check_idxs(dets, idxs, "merge_nms")
    keep = _kept(dets)
    return keep, dets.new_empty((keep.shape[0], 4))


def _and_nms_fake(
    dets: Tensor, scores: Tensor, idxs: Tensor | None, iou_threshold: float, min_overlap: float
) -> Tensor:
    check_boxes_and_scores(dets, scores, "and_nms")
    check_idxs(dets, idxs, "and_nms")
    return _kept(dets)


def _check_soft(sigma: float, method: str) -> None:
    torch._check(
        method in ("gaussian", "linear"), lambda: f"soft_nms: method should be 'gaussian' or 'linear', got '{method}'"
    )
    torch._check(sigma > 0, lambda: f"soft_nms: sigma should be > 0, got {sigma}")


def _soft_nms_fake(
    dets: Tensor,
    scores: Tensor,
    idxs: Tensor | None,
    iou_threshold: float,
    sigma: float,
    method: str,
    score_threshold: float,
) -> tuple[Tensor, Tensor]:
    check_boxes_and_scores(dets, scores, "soft_nms")
    check_idxs(dets, idxs, "soft_nms")
    _check_soft(sigma, method)
    keep = _kept(dets)
    return keep, scores.new_empty((keep.shape[0],))


IOU_KINDS = ("iou", "giou", "diou", "ciou")


def _check_pairwise_shape(boxes: Tensor, name: str, shape: str) -> None:
    torch._check(
        boxes.dim() == 2 and boxes.shape[1] == 4,
        lambda: f"pairwise_iou: {name} should have shape {shape}, got {list(boxes.shape)}",
    )


def _pairwise_iou_fake(boxes1: Tensor, boxes2: Tensor, kind: str, eps: float) -> Tensor:
    _check_pairwise_shape(boxes1, "boxes1", "[N, 4]")
    _check_pairwise_shape(boxes2, "boxes2", "[M, 4]")
    torch._check(
        boxes1.device == boxes2.device,
        lambda: (
            f"pairwise_iou: boxes1 and boxes2 should be on the same device, got {boxes1.device} and {boxes2.device}"
        ),
    )
    torch._check(
        boxes1.dtype in FLOAT_DTYPES,
        lambda: f"pairwise_iou: boxes1 should be a floating point tensor, got {boxes1.dtype}",
    )
    torch._check(
        boxes1.dtype == boxes2.dtype,
        lambda: f"pairwise_iou: boxes1 and boxes2 should have the same dtype, got {boxes1.dtype} and {boxes2.dtype}",
    )
    torch._check(
        kind in IOU_KINDS,
        lambda: f"pairwise_iou: kind should be one of 'iou', 'giou', 'diou', 'ciou', got '{kind}'",
    )
    return boxes1.new_empty((boxes1.shape[0], boxes2.shape[0]))


def pairwise_iou_formula(boxes1: Tensor, boxes2: Tensor, kind: str, eps: float) -> Tensor:
    """The seed's bbox_iou (seeds/001 L381-425) for every pair, in torch ops; the backward of pairwise_iou.

    CIoU's alpha is a constant for the gradient (computed without grad, as in the seed) and gets ``eps`` in
    its denominator, like the C++ kernel (csrc/common/box_math.h).
    """
    a = boxes1[:, None, :]  # (N, 1, 4)
    b = boxes2[None, :, :]  # (1, M, 4)
    inter = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp(min=0) * (
        torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])
    ).clamp(min=0)
    w1, h1 = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    w2, h2 = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    union = (w1 * h1 + eps) + w2 * h2 - inter
    iou = inter / union
    if kind == "iou":
        return iou
    cw = torch.maximum(a[..., 2], b[..., 2]) - torch.minimum(a[..., 0], b[..., 0])
    ch = torch.maximum(a[..., 3], b[..., 3]) - torch.minimum(a[..., 1], b[..., 1])
    if kind == "giou":
        c_area = cw * ch + eps
        return iou - (c_area - union) / c_area
    c2 = cw**2 + ch**2 + eps
    rho2 = ((b[..., 0] + b[..., 2]) - (a[..., 0] + a[..., 2])) ** 2 / 4 + (
        (b[..., 1] + b[..., 3]) - (a[..., 1] + a[..., 3])
    ) ** 2 / 4
    if kind == "diou":
        return iou - rho2 / c2
    v = (4 / torch.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    alpha = (v / ((1 - iou + v) + eps)).detach()
    return iou - (rho2 / c2 + v * alpha)


def _pairwise_iou_setup_context(
    ctx: torch.autograd.function.FunctionCtx, inputs: tuple[Tensor, Tensor, str, float], output: Tensor
) -> None:
    boxes1, boxes2, kind, eps = inputs
    ctx.save_for_backward(boxes1, boxes2)
    ctx.kind = kind  # type: ignore[attr-defined]
    ctx.eps = eps  # type: ignore[attr-defined]


def _pairwise_iou_backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, Tensor, None, None]:
    boxes1, boxes2 = ctx.saved_tensors  # type: ignore[attr-defined]
    kind, eps = ctx.kind, ctx.eps  # type: ignore[attr-defined]
    vjp_fn = torch.func.vjp(lambda a, b: pairwise_iou_formula(a, b, kind, eps), boxes1, boxes2)[1]
    grad1, grad2 = vjp_fn(grad)
    return grad1, grad2, None, None


for _op, _fake in (
    ("nms", _nms_fake),
    ("batched_nms", _batched_nms_fake),
    ("diou_nms", _diou_nms_fake),
    ("merge_nms", _merge_nms_fake),
    ("and_nms", _and_nms_fake),
    ("soft_nms", _soft_nms_fake),
    ("pairwise_iou", _pairwise_iou_fake),
):
    torch.library.register_fake(f"visionq::{_op}", _fake)
torch.library.register_autograd(
    "visionq::pairwise_iou", _pairwise_iou_backward, setup_context=_pairwise_iou_setup_context
)
