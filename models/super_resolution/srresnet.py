"""SRResNet, the generator of SRGAN (Ledig et al. 2017, arXiv 1609.04802), in a compact demo configuration.

Head conv -> residual blocks -> conv + long skip -> PixelShuffle x2 steps -> tail conv, as in the paper and the
seed's MMEditing walk-through (official code: twitter's was never released; the layout follows MMEditing's
`MSRResNet`, not key for key: the demo weights are trained here, models/super_resolution/train.py). Two deliberate
differences, both for a small CPU-trained demo:
- no BatchNorm in the residual blocks (EDSR, Lim et al. 2017, showed BN hurts SR, and without it the network is
  the same function in train and eval mode, which keeps tiled and untiled inference identical);
- the network predicts the residual over a bicubic upscale (as VDSR does), which converges in minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class Upsampler(nn.Sequential):
    """log2(scale) steps of conv (4x channels) -> PixelShuffle(2) -> PReLU."""

    def __init__(self, channels: int, scale: int) -> None:
        steps = int(math.log2(scale))
        if 2**steps != scale:
            raise ValueError(f"SRResNet upsamples by powers of two; got scale {scale}")
        layers: list[nn.Module] = []
        for _ in range(steps):
            layers += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(channels)]
        super().__init__(*layers)


@dataclass(frozen=True)
class SRResNetConfig:
    scale: int = 2
    channels: int = 32  # the paper uses 64; 32 makes the demo ~4x cheaper on a CPU
    blocks: int = 6  # the paper uses 16; 6 reaches the demo's +dB targets in minutes of CPU training

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can influence an output pixel (the overlap that makes tiling exact).

        Each 3x3 conv reaches one pixel at its own resolution: head 1, two per block, body tail 1 at the input
        resolution; the upsampler's convs run at 1x, 2x, 4x (1, 1/2, 1/4 input pixels), the tail at `scale`
        (1/scale). The bicubic skip reaches 2 input pixels, less than the convolutional path.
        """
        steps = int(math.log2(self.scale))
        upsampler = sum(0.5**k for k in range(steps)) + 1 / self.scale
        return 2 + 2 * self.blocks + math.ceil(upsampler)


class SRResNet(nn.Module):
    """SRResNet generator: (B, 3, H, W) in [0, 1] -> (B, 3, scale * H, scale * W)."""

    def __init__(self, config: SRResNetConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.head = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.PReLU(c))
        self.body = nn.Sequential(*[ResidualBlock(c) for _ in range(config.blocks)])
        self.body_tail = nn.Conv2d(c, c, 3, padding=1)
        self.upsample = Upsampler(c, config.scale)
        self.tail = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Upscale images.

        Args:
            x: (B, 3, H, W) float RGB in [0, 1].

        Returns:
            (B, 3, H * scale, W * scale) float RGB, not clamped.
        """
        features = self.head(x)
        features = features + self.body_tail(self.body(features))
        base = F.interpolate(x, scale_factor=self.config.scale, mode="bicubic", align_corners=False)
        return base + self.tail(self.upsample(features))
