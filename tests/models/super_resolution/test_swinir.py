from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.super_resolution.swinir import (
    OFFICIAL_FILES,
    SWINIR_VARIANTS,
    SwinIR,
    SwinIRConfig,
    pad_to_multiple,
    shifted_window_mask,
)
from models.super_resolution.swinir_weights import load_official_swinir, save_official_layout

LAYOUTS_PATH = Path("/work/shared/checkpoint-layouts.json")
LAYOUTS = (
    {name: spec for name, spec in json.loads(LAYOUTS_PATH.read_text()).items() if name.startswith("swinir_")}
    if LAYOUTS_PATH.exists()
    else {}
)
# The official release each layout in checkpoint-layouts.json was computed for.
LAYOUT_VARIANTS = {
    "swinir_classical_x2_s64w8": "classical_x2",
    "swinir_classical_x4_s64w8": "classical_x4",
    "swinir_classical_x2_s48w8": "classical_s48_x2",
    "swinir_lightweight_x2_s64w8": "lightweight_x2",
    "swinir_lightweight_x4_s64w8": "lightweight_x4",
    "swinir_realsr_x4_M_s64w8": "real_x4",
}


def tiny_config(**overrides: object) -> SwinIRConfig:
    fields: dict[str, object] = {
        "upscale": 2,
        "img_size": 8,
        "window_size": 4,
        "depths": (2,),
        "embed_dim": 12,
        "num_heads": (2,),
        "upsampler": "pixelshuffle",
    }
    fields.update(overrides)
    return SwinIRConfig(**fields)


def config_from_constructor(args: dict[str, object]) -> SwinIRConfig:
    """The official constructor's keyword arguments (lists for depths and heads) as our frozen config."""
    fields = dict(args)
    fields["depths"] = tuple(fields["depths"])
    fields["num_heads"] = tuple(fields["num_heads"])
    fields["mlp_ratio"] = float(fields["mlp_ratio"])
    return SwinIRConfig(**fields)


@pytest.mark.skipif(not LAYOUTS, reason=f"{LAYOUTS_PATH} not available")
@pytest.mark.parametrize("layout_name", sorted(LAYOUT_VARIANTS))
def test_state_dict_matches_official_layout(layout_name: str) -> None:
    spec = LAYOUTS[layout_name]
    config = config_from_constructor(spec["constructor"])
    assert config == SWINIR_VARIANTS[LAYOUT_VARIANTS[layout_name]]
    model = SwinIR(config)  # on the CPU: the meta device would be faster per model but imports torch._dynamo (~10 s)

    state_dict = model.state_dict()
    expected = {key: list(shape) for key, shape in spec["state_dict"].items()}
    assert {key: list(tensor.shape) for key, tensor in state_dict.items()} == expected
    assert list(state_dict) == list(expected)  # same order as the official module tree, too
    assert sum(p.numel() for p in model.parameters()) == spec["num_params"]
    assert all(t.dtype == torch.int64 for k, t in state_dict.items() if k.endswith("relative_position_index"))
    assert all(t.dtype == torch.float32 for k, t in state_dict.items() if k.endswith("attn_mask"))


def test_variants_have_official_files() -> None:
    assert OFFICIAL_FILES.keys() == SWINIR_VARIANTS.keys()
    for variant, filename in OFFICIAL_FILES.items():
        config = SWINIR_VARIANTS[variant]
        assert f"_x{config.upscale}" in filename
        assert f"_s{config.img_size}w{config.window_size}_" in filename


@pytest.mark.parametrize("upsampler", ["pixelshuffle", "pixelshuffledirect", "nearest+conv"])
@pytest.mark.parametrize("size", [(7, 9), (8, 8), (13, 3)])
def test_output_is_upscale_times_input(upsampler: str, size: tuple[int, int]) -> None:
    scale = 4 if upsampler == "nearest+conv" else 3 if upsampler == "pixelshuffle" else 2
    model = SwinIR(tiny_config(upscale=scale, upsampler=upsampler)).eval()
    image = torch.rand(2, 3, *size)
    with torch.inference_mode():
        out = model(image)
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert torch.isfinite(out).all()


def test_resi_connection_3conv_runs() -> None:
    model = SwinIR(tiny_config(resi_connection="3conv", depths=(2, 2), num_heads=(2, 2))).eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 3, 5, 6)).shape == (1, 3, 10, 12)


def test_padding_mirrors_like_the_official_test_script() -> None:
    image = torch.rand(1, 3, 5, 6)
    padded = pad_to_multiple(image, 4)
    # main_test_swinir.py: torch.cat([x, torch.flip(x, [2])], 2)[..., :h + pad, :], then the same on dim 3
    official = torch.cat([image, torch.flip(image, [2])], 2)[:, :, :8, :]
    official = torch.cat([official, torch.flip(official, [3])], 3)[:, :, :, :8]
    assert torch.equal(padded, official)
    assert pad_to_multiple(torch.rand(1, 3, 2, 1), 4).shape == (1, 3, 4, 4)  # pad wider than the image


def test_forward_does_not_mutate_the_model() -> None:
    model = SwinIR(tiny_config()).eval()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    mean_before = model.pixel_mean.clone()
    with torch.inference_mode():
        model(torch.rand(1, 3, 11, 9))
    assert all(torch.equal(before[key], value) for key, value in model.state_dict().items())
    assert torch.equal(model.pixel_mean, mean_before)
    assert "pixel_mean" not in model.state_dict()


def test_mask_buffer_equals_the_mask_computed_for_img_size() -> None:
    config = tiny_config(img_size=12)
    model = SwinIR(config)
    buffer = model.layers[0].residual_group.blocks[1].attn_mask
    assert torch.equal(buffer, shifted_window_mask(12, 12, 4, 2))
    assert model.layers[0].residual_group.blocks[0].attn_mask is None


def test_mask_is_recomputed_for_other_input_sizes() -> None:
    """A model trained on 8x8 patches gives, on a 16x16 input, what the same weights built for 16x16 patches give."""
    torch.manual_seed(0)
    small = SwinIR(tiny_config(img_size=8)).eval()
    large = SwinIR(tiny_config(img_size=16)).eval()
    state_dict = {key: value for key, value in small.state_dict().items() if not key.endswith("attn_mask")}
    large.load_state_dict(state_dict, strict=False)
    image = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        assert torch.equal(small(image), large(image))


@pytest.mark.parametrize("wrapper", ["params", "params_ema"])
def test_round_trip_through_the_official_layout(tmp_path: Path, wrapper: str) -> None:
    torch.manual_seed(0)
    config = tiny_config(upsampler="nearest+conv", upscale=4)
    model = SwinIR(config).eval()
    path = tmp_path / "tiny.pth"
    save_official_layout(model, path, wrapper=wrapper)

    loaded = load_official_swinir(path, config)
    assert not loaded.training
    image = torch.rand(1, 3, 6, 10)
    with torch.inference_mode():
        assert torch.equal(loaded(image), model(image))


def test_params_ema_is_preferred_over_params(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = tiny_config()
    ema, raw = SwinIR(config), SwinIR(config)
    path = tmp_path / "both.pth"
    torch.save({"params": raw.state_dict(), "params_ema": ema.state_dict()}, path)
    loaded = load_official_swinir(path, config)
    assert torch.equal(loaded.conv_first.weight, ema.conv_first.weight)


def test_bare_state_dict_and_safetensors_load(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    config = tiny_config()
    model = SwinIR(config)
    torch.save(model.state_dict(), tmp_path / "bare.pth")
    save_file(model.state_dict(), str(tmp_path / "model.safetensors"))
    for name in ("bare.pth", "model.safetensors"):
        loaded = load_official_swinir(tmp_path / name, config)
        assert torch.equal(loaded.conv_last.weight, model.conv_last.weight)


def test_wrong_key_is_named(tmp_path: Path) -> None:
    config = tiny_config()
    state_dict = SwinIR(config).state_dict()
    state_dict["conv_first.weights"] = state_dict.pop("conv_first.weight")
    path = tmp_path / "renamed.pth"
    torch.save({"params": state_dict}, path)
    with pytest.raises(ValueError, match=r"renamed\.pth.*'conv_first\.weight'.*'conv_first\.weights'"):
        load_official_swinir(path, config)


def test_wrong_variant_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    save_official_layout(SwinIR(tiny_config()), path)
    with pytest.raises(ValueError, match=r"variant 'lightweight_x2'.*missing keys"):
        load_official_swinir(path, "lightweight_x2")
    with pytest.raises(ValueError, match="unknown SwinIR variant 'medium_x2'"):
        load_official_swinir(path, "medium_x2")


def test_shape_mismatch_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pth"
    save_official_layout(SwinIR(tiny_config(img_size=8)), path)
    with pytest.raises(ValueError, match=r"attn_mask: checkpoint \(4, 16, 16\), model \(9, 16, 16\)"):
        load_official_swinir(path, tiny_config(img_size=12))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"upsampler": "bicubic"}, "upsampler should be"),
        ({"upsampler": "nearest+conv", "upscale": 2}, "upscales by 4 only"),
        ({"resi_connection": "2conv"}, "resi_connection should be"),
        ({"num_heads": (2, 2)}, "same length"),
        ({"img_size": 4}, "should exceed window_size"),
    ],
)
def test_invalid_configs_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)
