"""Official SwinIR checkpoints (JingyunLiang/SwinIR releases v0.0), loaded key for key.

The official files are `torch.save({"params": state_dict})`, or `{"params_ema": ...}` for the GAN-trained
real-world models (`param_key_g` in the official main_test_swinir.py). Their keys and shapes are exactly those
of `SwinIR(config)`, buffers included, so the key map has no exceptions: the only difference handled here is
the wrapper. Files are read with `torch.load(..., weights_only=True)` or safetensors, never unpickled freely.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor

from models.super_resolution.swinir import SWINIR_VARIANTS, SwinIR, SwinIRConfig

#: Wrapper keys of the official files, most preferred first (the EMA weights are the ones the authors test).
WRAPPER_KEYS = ("params_ema", "params")


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """The tensors of a checkpoint, unwrapped from "params_ema" (preferred) or "params" when present.

    Args:
        path: a .pth/.pt file (loaded with `weights_only=True`) or a .safetensors file.

    Returns:
        The state dict, key -> tensor.
    """
    if path.suffix == ".safetensors":
        return load_file(str(path))
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # weights_only refuses anything but tensors and plain containers
        raise ValueError(f"{path} holds more than tensors, refused by weights_only loading: {exc}") from exc
    if not isinstance(loaded, Mapping):
        raise ValueError(f"{path} should hold a dict of tensors, got {type(loaded).__name__}")
    for key in WRAPPER_KEYS:
        if key in loaded:
            loaded = loaded[key]
            break
    not_tensors = [key for key, value in loaded.items() if not isinstance(value, Tensor)]
    if not_tensors:
        raise ValueError(
            f"{path} should hold a state dict (optionally under {' or '.join(WRAPPER_KEYS)}); "
            f"these keys are not tensors: {not_tensors[:10]}"
        )
    return dict(loaded)


def check_layout(state_dict: Mapping[str, Tensor], expected: Mapping[str, Tensor], source: str) -> None:
    """Raise a ValueError listing missing, unexpected and mis-shaped keys, if any.

    Args:
        state_dict: the checkpoint's tensors.
        expected: the model's state dict.
        source: what to name in the message (file and variant).
    """
    missing = sorted(expected.keys() - state_dict.keys())
    unexpected = sorted(state_dict.keys() - expected.keys())
    mismatched = [
        f"{key}: checkpoint {tuple(state_dict[key].shape)}, model {tuple(expected[key].shape)}"
        for key in expected.keys() & state_dict.keys()
        if state_dict[key].shape != expected[key].shape
    ]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"{source} does not match the SwinIR layout: {len(missing)} missing keys {missing[:10]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:10]}, {len(mismatched)} shape mismatches "
            f"{sorted(mismatched)[:10]}"
        )


def load_official_swinir(path: Path, variant: str | SwinIRConfig, device: str = "cpu") -> SwinIR:
    """Build SwinIR for `variant` and load an official checkpoint into it strictly.

    Args:
        path: the official .pth (e.g. `OFFICIAL_FILES["classical_x4"]`) or a .safetensors conversion.
        variant: a key of `SWINIR_VARIANTS`, or a config (used by tests and for unreleased configurations).
        device: where to put the model.

    Returns:
        The model in eval mode on `device`.
    """
    if isinstance(variant, SwinIRConfig):
        config, name = variant, "custom config"
    elif variant in SWINIR_VARIANTS:
        config, name = SWINIR_VARIANTS[variant], f"variant {variant!r}"
    else:
        raise ValueError(f"unknown SwinIR variant {variant!r}; known: {sorted(SWINIR_VARIANTS)}")
    state_dict = read_state_dict(path)
    model = SwinIR(config)
    check_layout(state_dict, model.state_dict(), f"{path} ({name})")
    model.load_state_dict(state_dict, strict=True)
    return model.eval().to(device)


def save_official_layout(model: SwinIR, path: Path, wrapper: str = "params") -> None:
    """Write `model` as the official files are: `torch.save({wrapper: state_dict})`.

    Args:
        model: the model to save.
        path: destination .pth.
        wrapper: "params" (PSNR-trained releases) or "params_ema" (GAN-trained releases).
    """
    if wrapper not in WRAPPER_KEYS:
        raise ValueError(f"wrapper should be one of {WRAPPER_KEYS}, got {wrapper!r}")
    torch.save({wrapper: model.state_dict()}, path)
