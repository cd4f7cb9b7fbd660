from __future__ import annotations

import pytest
import torch

from models.super_resolution.srresnet import SRResNet, SRResNetConfig
from models.super_resolution.weights import FP16_TINY, fp16_safe, fp16_underflow_fraction, load_srresnet


@pytest.mark.parametrize("scale", [2, 4])
def test_output_is_scale_times_input(scale: int) -> None:
    net = SRResNet(SRResNetConfig(scale=scale, channels=8, blocks=1)).eval()
    with torch.inference_mode():
        out = net(torch.rand(2, 3, 11, 7))
    assert out.shape == (2, 3, 11 * scale, 7 * scale)


def test_odd_scales_are_refused() -> None:
    with pytest.raises(ValueError, match="powers of two; got scale 3"):
        SRResNet(SRResNetConfig(scale=3, channels=8, blocks=1))


@pytest.mark.parametrize("scale", [2, 4])
def test_receptive_radius_bounds_the_influence_of_one_pixel(scale: int) -> None:
    torch.manual_seed(0)
    config = SRResNetConfig(scale=scale, channels=8, blocks=2)
    net = SRResNet(config).eval()
    image = torch.rand(1, 3, 41, 41)
    poked = image.clone()
    poked[..., 20, 20] += 0.5
    with torch.inference_mode():
        changed = (net(poked) - net(image)).abs().amax(dim=(0, 1)) > 0  # (sH, sW)
    rows = changed.any(dim=1).nonzero().flatten()
    reach = max(20 - int(rows.min()) // scale, int(rows.max()) // scale - 20)
    assert 0 < reach <= config.receptive_radius


@pytest.mark.parametrize("scale", [2, 4])
def test_demo_weights_load_strictly_and_survive_float16(scale: int) -> None:
    net = load_srresnet(scale)
    assert not net.training and net.config.scale == scale
    assert fp16_safe(net)


def test_fp16_check_refuses_weights_that_would_underflow() -> None:
    net = SRResNet(SRResNetConfig(scale=2, channels=8, blocks=1))
    with torch.no_grad():
        net.tail.weight.fill_(FP16_TINY / 10)  # 216 of ~3.7k nonzero weights flush to 0 in float16
    assert fp16_underflow_fraction(net) > 0.01
    assert not fp16_safe(net)
