"""Inference path of the demo detector: letterbox, batched forward, YOLOv3 post-processing on our NMS kernels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

import kernels
from models.detection.boxes import letterbox, pad_to, unletterbox
from models.detection.network import TinyYolo

#: Boxes narrower or shorter than this (input pixels) are dropped before NMS, the seed's `min_wh`.
MIN_BOX_PX = 2
#: The seed's `max_wh`; the demo's letterboxed input never reaches it.
MAX_BOX_PX = 4096


@dataclass(frozen=True)
class Letterboxed:
    """One image ready for the demo network.

    Attributes:
        image: (3, h, w) uint8, long side = the model's input size.
        scale: letterboxed pixels per original pixel.
        width: original width.
        height: original height.
    """

    image: Tensor
    scale: float
    width: int
    height: int


@dataclass(frozen=True)
class NmsOptions:
    conf_thres: float = 0.5
    iou_thres: float = 0.5
    method: str = "vision_batch"
    multi_label: bool = False
    max_det: int = 300
    classes: tuple[int, ...] | None = None
    soft_sigma: float = 0.5


def prepare(rgb: NDArray[np.uint8], input_size: int) -> Letterboxed:
    """Letterbox an (H, W, 3) uint8 RGB image for the network (top-left aligned, see `boxes.py`)."""
    resized, scale = letterbox(rgb, input_size)
    image = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1)  # (3, h, w)
    return Letterboxed(image=image, scale=scale, width=rgb.shape[1], height=rgb.shape[0])


def predict(model: TinyYolo, images: list[Letterboxed]) -> Tensor:
    """One forward pass for several images of any sizes, padded to a common canvas.

    Returns:
        (B, N, 5 + C) float rows (cx, cy, w, h, objectness, class probabilities) in letterboxed pixels;
        rows of one image are the same cells as every other image's (the padded canvas is shared).
    """
    batch = pad_to([item.image for item in images], stride=max(model.config.strides))
    device = next(model.parameters()).device
    x = batch.to(device).float().div_(255)
    with torch.inference_mode():
        return model.decode(model(x)).cpu()


def detect(rows: Tensor, item: Letterboxed, options: NmsOptions) -> Tensor:
    """YOLOv3 post-processing of one image's rows on our kernels, mapped back to original pixels.

    Args:
        rows: (N, 5 + C) from `predict`, for this image.
        item: the image's letterbox record.
        options: thresholds and NMS method.

    Returns:
        (K, 6) float rows (x1, y1, x2, y2, confidence, class) in original pixels, confidence descending.
    """
    out = kernels.postprocess(
        rows.unsqueeze(0),
        conf_thres=options.conf_thres,
        iou_thres=options.iou_thres,
        method=options.method,
        multi_label=options.multi_label,
        max_det=options.max_det,
        min_wh=MIN_BOX_PX,
        max_wh=MAX_BOX_PX,
        classes=list(options.classes) if options.classes is not None else None,
        soft_sigma=options.soft_sigma,
    )[0]
    out = out.clone()
    out[:, :4] = unletterbox(out[:, :4], item.scale, item.width, item.height)
    return out
