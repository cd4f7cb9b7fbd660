from __future__ import annotations

import torch

from models.super_resolution.srresnet import SRResNet, SRResNetConfig
from models.super_resolution.tiling import TiledImage, ramp, tile_starts, tiled_forward


def test_tile_starts_cover_the_axis_and_stay_inside() -> None:
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(300, 64, 16)
    assert starts[0] == 0 and starts[-1] == 300 - 64
    assert all(b - a <= 64 - 16 for a, b in zip(starts, starts[1:], strict=False))


def test_ramp_is_positive_and_one_away_from_neighbours() -> None:
    weights = ramp(40, 8, rise=True, fall=False)
    assert (weights > 0).all() and (weights[8:] == 1).all() and (weights[:8] < 1).all()


def test_tiled_output_equals_untiled_outside_the_blend_zones() -> None:
    torch.manual_seed(0)
    config = SRResNetConfig(scale=2, channels=8, blocks=2)
    net = SRResNet(config).eval()
    image = torch.rand(3, 70, 90)
    overlap = config.receptive_radius
    seen: list[tuple[int, float]] = []
    with torch.inference_mode():
        untiled = net(image[None])[0].clamp(0, 1)
        tiled_image = TiledImage(image, scale=2, tile=40, overlap=overlap)
        (tiled,) = tiled_forward([tiled_image], net, batch_size=3, progress=lambda i, f: seen.append((i, f)))
    assert tiled.shape == untiled.shape
    mask = torch.ones(tiled.shape[1:], dtype=torch.bool)  # True outside every overlap strip
    for starts, axis in ((tiled_image.ys, 0), (tiled_image.xs, 1)):
        for prev, nxt in zip(starts, starts[1:], strict=False):
            lo, hi = nxt * 2, (prev + 40) * 2
            if axis == 0:
                mask[lo:hi, :] = False
            else:
                mask[:, lo:hi] = False
    assert mask.float().mean() > 0.2
    assert (tiled - untiled).abs()[:, mask].max() < 1e-4
    assert (tiled - untiled).abs().max() < 0.05  # blend zones: a mix of two near-equal predictions
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_tiles_of_several_images_share_batches() -> None:
    calls: list[int] = []

    def network(batch: torch.Tensor) -> torch.Tensor:
        calls.append(batch.shape[0])
        return torch.nn.functional.interpolate(batch, scale_factor=2, mode="nearest")

    images = [TiledImage(torch.rand(3, 64, 64), 2, 32, 8) for _ in range(2)]
    outs = tiled_forward(images, network, batch_size=8)
    assert calls == [8, 8, 2]  # 3x3 tiles per image: the second batch holds tiles of both images
    assert [o.shape for o in outs] == [torch.Size([3, 128, 128])] * 2
