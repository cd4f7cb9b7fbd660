"""Tiled upscaling in bounded memory: overlapping tiles, run in batches (across images), blended back.

Every tile lies inside its image (the last tile of a row or column is shifted back to end at the border), so all
tiles of an image share one shape and a network sees only real pixels, exactly as it would untiled. A tile's
output is weighted by a ramp that rises across the overlap on sides that have a neighbour (1 elsewhere); the
accumulated weighted sum is divided by the accumulated weight. Outside the overlaps a pixel comes from one tile
only, and if the overlap is at least the network's receptive radius it equals the untiled output.

Memory: the output accumulators (3 + 1 float32 channels at output size, 16 bytes per output pixel), turned into
the result in place, plus one batch of tiles at a time: a 4096x4096 input at x2 needs ~1.1 GB of accumulators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets along one axis: stride `tile - overlap`, the last tile ending exactly at `length`."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def ramp(length: int, overlap: int, rise: bool, fall: bool) -> Tensor:
    """(length,) weights: linear rise over the first `overlap` samples if `rise`, fall over the last if `fall`."""
    weights = torch.ones(length)
    if overlap > 0:
        edge = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
        if rise:
            weights[:overlap] = torch.minimum(weights[:overlap], edge)
        if fall:
            weights[-overlap:] = torch.minimum(weights[-overlap:], edge.flip(0))
    return weights


@dataclass
class TiledImage:
    """One image being upscaled tile by tile, with its output accumulators."""

    image: Tensor  # (3, H, W) float in [0, 1]
    scale: int
    tile: int
    overlap: int
    ys: list[int] = field(init=False)
    xs: list[int] = field(init=False)
    out: Tensor = field(init=False)  # (3, sH, sW) weighted sum
    weight: Tensor = field(init=False)  # (1, sH, sW) summed weights
    done: int = 0

    def __post_init__(self) -> None:
        if not 0 <= 2 * self.overlap < self.tile:
            raise ValueError(f"overlap must be in [0, tile / 2), got overlap {self.overlap} for tile {self.tile}")
        _, h, w = self.image.shape
        self.ys = tile_starts(h, self.tile, self.overlap)
        self.xs = tile_starts(w, self.tile, self.overlap)
        self.out = torch.zeros(3, h * self.scale, w * self.scale)
        self.weight = torch.zeros(1, h * self.scale, w * self.scale)

    @property
    def tile_shape(self) -> tuple[int, int]:
        _, h, w = self.image.shape
        return min(self.tile, h), min(self.tile, w)

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)

    def positions(self) -> Iterator[tuple[int, int]]:
        for y in self.ys:
            for x in self.xs:
                yield y, x

    def crop(self, y: int, x: int) -> Tensor:
        th, tw = self.tile_shape
        return self.image[:, y : y + th, x : x + tw]

    def add(self, y: int, x: int, upscaled: Tensor) -> None:
        """Blend one tile's output (3, s*th, s*tw) into the accumulators."""
        s, (th, tw) = self.scale, self.tile_shape
        o = self.overlap * s
        wy = ramp(th * s, o, rise=y > 0, fall=y + th < self.image.shape[1])
        wx = ramp(tw * s, o, rise=x > 0, fall=x + tw < self.image.shape[2])
        weight = wy[:, None] * wx[None, :]
        region = (slice(y * s, (y + th) * s), slice(x * s, (x + tw) * s))
        self.out[(slice(None), *region)] += upscaled.float().cpu() * weight
        self.weight[(slice(None), *region)] += weight
        self.done += 1

    def result(self) -> Tensor:
        """(3, sH, sW) the blended output, clamped to [0, 1]; computed in place, so call it once."""
        out = self.out.div_(self.weight).clamp_(0, 1)
        self.weight = torch.empty(0)  # the accumulators are spent: free the weights before the caller encodes
        return out


def tiled_forward(
    images: Sequence[TiledImage],
    network: Callable[[Tensor], Tensor],
    batch_size: int,
    progress: Callable[[int, float], None] | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> list[Tensor]:
    """Upscale several images whose tiles share one shape, batching tiles across images.

    Args:
        images: images to upscale (their `image` is (3, H, W) float in [0, 1]); all must have the same
            `tile_shape` (th, tw), which is what the task's `batch_key` groups by.
        network: (B, 3, th, tw) -> (B, 3, s * th, s * tw), called under the caller's inference mode.
        batch_size: tiles per network call (bounds the activations' memory).
        progress: called as progress(image_index, fraction_done) after each tile is blended; fractions rise
            monotonically to 1.0 for every image.
        device: where the network runs; tiles move there one batch at a time and back to the CPU accumulators.
        dtype: the network's dtype (float16 on CUDA when its weights allow).

    Returns:
        One (3, sH, sW) float32 CPU tensor in [0, 1] per image, in order.
    """
    shapes = {im.tile_shape for im in images}
    if len(shapes) != 1:
        raise ValueError(f"images in one call must share a tile shape, got {sorted(shapes)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    jobs = [(i, y, x) for i, im in enumerate(images) for y, x in im.positions()]
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        batch = torch.stack([images[i].crop(y, x) for i, y, x in chunk]).to(device=device, dtype=dtype)
        outputs = network(batch)  # (B, 3, s * th, s * tw)
        for (i, y, x), upscaled in zip(chunk, outputs, strict=True):
            images[i].add(y, x, upscaled)
            if progress is not None:
                progress(i, images[i].done / images[i].count)
    return [im.result() for im in images]
