"""A compact single-stage, anchor-free YOLO-style detector (the built-in demo model).

Layout follows YOLOv3 (Redmon & Farhadi, arXiv 1804.02767; ultralytics/yolov3): a Darknet-like backbone of strided
3x3 convolutions and 1x1/3x3 residual blocks, a top-down feature pyramid, and one prediction per grid cell at
strides 8, 16 and 32, each `[tx, ty, tw, th, objectness, class logits...]`. Boxes are decoded anchor-free:

    cx = (2 * sigmoid(tx) - 0.5 + grid_x) * stride        (YOLOv5's centre range, (-0.5, 1.5) cells)
    w  = exp(clamp(tw, max=_MAX_LOG_WH)) * stride         (YOLOX, arXiv 2107.08430, section 2.1)

There is no official checkpoint: the weights are trained by `models/detection/train.py` on the scenes of
`models/detection/dataset.py` and stored as safetensors with this config in the metadata.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

#: exp(6) * 32 px > 12,000 px: larger boxes are clamped instead of overflowing to inf.
_MAX_LOG_WH = 6.0


class ConvBnAct(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> SiLU; "same" padding for odd kernels."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.SiLU(inplace=True),
        )


class Residual(nn.Module):
    """Darknet residual block: 1x1 squeeze to half the channels, 3x3 back, added to the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.reduce = ConvBnAct(channels, channels // 2, 1)
        self.expand = ConvBnAct(channels // 2, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.expand(self.reduce(x))


class Stage(nn.Sequential):
    """A stride-2 3x3 convolution followed by `depth` residual blocks."""

    def __init__(self, in_channels: int, out_channels: int, depth: int) -> None:
        super().__init__(ConvBnAct(in_channels, out_channels, 3, 2), *(Residual(out_channels) for _ in range(depth)))


@dataclass(frozen=True)
class DetectorConfig:
    num_classes: int = 6
    #: Output channels of the five stride-2 stages (strides 2, 4, 8, 16, 32).
    widths: tuple[int, ...] = (16, 32, 64, 96, 128)
    #: Residual blocks per stage; the stride-2 stage has none because it only has to shrink the image cheaply.
    depths: tuple[int, ...] = (0, 1, 2, 2, 1)
    #: Channels of the pyramid and head at every level.
    neck_channels: int = 64
    #: Strides of the predicting levels; must be the strides of the last len(strides) stages.
    strides: tuple[int, ...] = (8, 16, 32)
    #: Images are letterboxed so that their long side is this many pixels at inference.
    input_size: int = 320

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DetectorConfig:
        raw = json.loads(text)
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()})


class TinyYolo(nn.Module):
    """Backbone, top-down pyramid and one shared-shape head per level.

    `forward` returns the raw maps (what the loss needs); `decode` turns them into boxes in input pixels.
    """

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        if len(config.widths) != len(config.depths):
            raise ValueError(f"widths and depths differ in length: {config.widths} vs {config.depths}")
        self.config = config
        channels = (3, *config.widths)
        self.stages = nn.ModuleList(Stage(channels[i], channels[i + 1], d) for i, d in enumerate(config.depths))
        levels = len(config.strides)
        level_widths = config.widths[-levels:]
        c = config.neck_channels
        self.lateral = nn.ModuleList(ConvBnAct(w, c, 1) for w in level_widths)
        self.smooth = nn.ModuleList(ConvBnAct(c, c, 3) for _ in level_widths)
        self.heads = nn.ModuleList(nn.Conv2d(c, 5 + config.num_classes, 1) for _ in level_widths)
        self._init_head_bias()

    def _init_head_bias(self) -> None:
        # Objectness starts near 1% (RetinaNet's prior, arXiv 1708.02002 section 3.3), classes near 1/num_classes,
        # so the first steps are not spent learning that most cells are empty.
        for head in self.heads:
            if not isinstance(head, nn.Conv2d) or head.bias is None:
                raise TypeError(f"heads must be Conv2d with a bias, got {head}")
            bias = head.bias.data
            bias[4] = math.log(0.01 / 0.99)
            bias[5:] = math.log(1 / (self.config.num_classes - 0.99))

    def forward(self, images: Tensor) -> list[Tensor]:
        """Raw predictions per level.

        Args:
            images: (B, 3, H, W) float in [0, 1]; H and W multiples of the largest stride.

        Returns:
            One (B, 5 + num_classes, H / stride, W / stride) map per level, finest first.
        """
        features = []
        x = images
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        levels = features[-len(self.config.strides) :]
        top_down: Tensor | None = None
        outputs: list[Tensor] = []
        for i in reversed(range(len(levels))):
            p = self.lateral[i](levels[i])
            if top_down is not None:
                p = p + nn.functional.interpolate(top_down, size=p.shape[-2:], mode="nearest")
            top_down = p
            outputs.append(self.heads[i](self.smooth[i](p)))
        return outputs[::-1]

    def decode(self, raw: list[Tensor]) -> Tensor:
        """Decode raw maps into rows `(cx, cy, w, h, objectness, class scores...)` in input pixels.

        Args:
            raw: the output of `forward`.

        Returns:
            (B, N, 5 + num_classes) float; objectness and class scores are probabilities (sigmoid applied),
            N = sum over levels of (H / stride) * (W / stride).
        """
        rows = []
        for level, stride in zip(raw, self.config.strides, strict=True):
            b, k, h, w = level.shape
            p = level.permute(0, 2, 3, 1).reshape(b, h * w, k)  # (B, h*w, 5+C), row-major over the grid
            grid = grid_centres(h, w, level.device, level.dtype)  # (h*w, 2) cell corner indices
            xy = (p[..., :2].sigmoid() * 2 - 0.5 + grid) * stride
            wh = p[..., 2:4].clamp(max=_MAX_LOG_WH).exp() * stride
            rows.append(torch.cat((xy, wh, p[..., 4:].sigmoid()), dim=-1))
        return torch.cat(rows, dim=1)


def grid_centres(height: int, width: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(height * width, 2) integer cell coordinates (x, y) in row-major order."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype), torch.arange(width, device=device, dtype=dtype), indexing="ij"
    )
    return torch.stack((xs, ys), dim=-1).reshape(-1, 2)
