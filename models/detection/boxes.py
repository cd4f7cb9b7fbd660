"""Letterboxing and box geometry shared by training, serving and evaluation of the demo detector.

The letterbox here scales an image so that its long side is `size` and keeps it in the top-left corner of its
canvas; the rest of the canvas (up to the next multiple of the stride, or up to the batch's largest image) is
filled with `PAD_VALUE`. With the image anchored at (0, 0), undoing the letterbox is a division by the scale, and
padding a batch to a common size never moves an image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

#: Grey of the letterbox border, as in YOLOv5's `letterbox` (114 of 255).
PAD_VALUE = 114


def letterbox(rgb: NDArray[np.uint8], size: int) -> tuple[NDArray[np.uint8], float]:
    """Resize so that the long side is `size`, keeping the aspect ratio.

    Args:
        rgb: (H, W, 3) uint8.
        size: target long side in pixels.

    Returns:
        The resized (h, w, 3) uint8 image and the scale factor (resized / original); pad it with `pad_to`.
    """
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(round(width * scale), 1), max(round(height * scale), 1)
    if (new_w, new_h) == (width, height):
        return rgb, 1.0
    # INTER_AREA averages when shrinking (no aliasing); INTER_LINEAR when enlarging, as OpenCV recommends.
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, (new_w, new_h), interpolation=interpolation), scale


def pad_to(images: list[Tensor], stride: int) -> Tensor:
    """Stack (3, h_i, w_i) uint8 images top-left aligned on a canvas of the largest size, rounded up to `stride`.

    Returns:
        (B, 3, H, W) uint8 with H, W multiples of `stride`; uncovered pixels are `PAD_VALUE`.
    """
    height = math.ceil(max(img.shape[1] for img in images) / stride) * stride
    width = math.ceil(max(img.shape[2] for img in images) / stride) * stride
    batch = torch.full((len(images), 3, height, width), PAD_VALUE, dtype=torch.uint8)
    for i, img in enumerate(images):
        batch[i, :, : img.shape[1], : img.shape[2]] = img
    return batch


def unletterbox(boxes: Tensor, scale: float, width: int, height: int) -> Tensor:
    """Map boxes from letterboxed pixels back to the original image and clip them to it.

    Args:
        boxes: (N, 4) x1 y1 x2 y2 in letterboxed pixels.
        scale: the scale `letterbox` returned.
        width: original image width.
        height: original image height.

    Returns:
        (N, 4) x1 y1 x2 y2 in original pixels.
    """
    out = boxes / scale
    out[:, 0::2] = out[:, 0::2].clamp(0, width)
    out[:, 1::2] = out[:, 1::2].clamp(0, height)
    return out


def xyxy_to_xywh(boxes: Tensor) -> Tensor:
    """(N, 4) x1 y1 x2 y2 -> (N, 4) x y w h with (x, y) the top-left corner (torchvision's "xywh")."""
    return torch.cat((boxes[:, :2], boxes[:, 2:] - boxes[:, :2]), dim=1)


def complete_iou(pred: Tensor, target: Tensor, eps: float = 1e-7) -> tuple[Tensor, Tensor]:
    """IoU and CIoU of paired boxes (Zheng et al., arXiv 1911.08287, eq. 9-11; the seed's `bbox_iou`).

    Args:
        pred: (N, 4) x1 y1 x2 y2.
        target: (N, 4) x1 y1 x2 y2.
        eps: guards the divisions; the seed uses 1e-16, which underflows in float16.

    Returns:
        (iou, ciou), each (N,). The aspect term's weight alpha is computed without gradient, as in the paper.
    """
    inter_w = (torch.min(pred[:, 2], target[:, 2]) - torch.max(pred[:, 0], target[:, 0])).clamp(min=0)
    inter_h = (torch.min(pred[:, 3], target[:, 3]) - torch.max(pred[:, 1], target[:, 1])).clamp(min=0)
    inter = inter_w * inter_h
    pw, ph = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1]
    tw, th = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
    union = pw * ph + tw * th - inter + eps
    iou = inter / union
    enclose_w = torch.max(pred[:, 2], target[:, 2]) - torch.min(pred[:, 0], target[:, 0])
    enclose_h = torch.max(pred[:, 3], target[:, 3]) - torch.min(pred[:, 1], target[:, 1])
    diagonal = enclose_w**2 + enclose_h**2 + eps
    centre_distance = (
        (pred[:, 0] + pred[:, 2] - target[:, 0] - target[:, 2]) ** 2
        + (pred[:, 1] + pred[:, 3] - target[:, 1] - target[:, 3]) ** 2
    ) / 4
    v = (4 / math.pi**2) * (torch.atan(tw / (th + eps)) - torch.atan(pw / (ph + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou, iou - (centre_distance / diagonal + v * alpha)
