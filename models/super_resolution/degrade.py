"""The one bicubic used everywhere: to make low-resolution training/evaluation inputs and as the baseline model."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def downscale(hr: Tensor, scale: int) -> Tensor:
    """(B, 3, H, W) -> (B, 3, H / scale, W / scale) by antialiased bicubic (H and W must be multiples of scale)."""
    h, w = hr.shape[-2:]
    return F.interpolate(hr, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)


def bicubic_upscale(lr: Tensor, scale: int) -> Tensor:
    """(B, 3, H, W) -> (B, 3, H * scale, W * scale) by bicubic interpolation (the baseline model)."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False)
