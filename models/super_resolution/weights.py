"""Demo weights (committed safetensors, trained by train.py), where official SwinIR files are looked for, and the
seed's fp16 safety check.

Official SwinIR checkpoints are loaded key for key by `swinir_weights.load_official_swinir`; this module only
finds them (by their release file name, `swinir.OFFICIAL_FILES`) and imports that code lazily, so the demo serves
even where the SwinIR modules are absent.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from models.super_resolution.srresnet import SRResNet, SRResNetConfig

WEIGHTS_DIR = Path(__file__).with_name("weights")
#: Smallest positive float16 (a subnormal): weights below it become 0 in fp16 (seed 002, deployment notes).
FP16_TINY = 6e-8
#: Largest float16; anything above it becomes inf.
FP16_MAX = 65504.0
#: Share of nonzero weights allowed to underflow before a model stays in float32: a few flushed-to-zero weights
#: (stray near-zero values any trained net has) change nothing measurable, a systematic share does.
FP16_UNDERFLOW_TOLERANCE = 1e-3
#: Request model name -> SwinIR variant family (`swinir.SWINIR_VARIANTS` keys are "<family>_x<scale>").
SWINIR_FAMILIES: dict[str, str] = {
    "swinir-classical": "classical",
    "swinir-lightweight": "lightweight",
    "swinir-real": "real",
}


def demo_weights_path(scale: int) -> Path:
    return WEIGHTS_DIR / f"srresnet_x{scale}.safetensors"


def load_srresnet(scale: int, path: Path | None = None) -> SRResNet:
    """The demo SRResNet for `scale`, built from the config stored in the file's metadata, loaded strictly."""
    path = path or demo_weights_path(scale)
    if not path.exists():
        raise FileNotFoundError(f"no SRResNet weights at {path}; run `python -m models.super_resolution.train`")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    config = SRResNetConfig(
        scale=int(meta.get("scale", scale)), channels=int(meta["channels"]), blocks=int(meta["blocks"])
    )
    if config.scale != scale:
        raise ValueError(f"{path} holds x{config.scale} weights, expected x{scale}")
    model = SRResNet(config)
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval()


def swinir_variant(model: str, scale: int) -> str:
    """The `SWINIR_VARIANTS` key serving request model `model` ("swinir-classical") at `scale` ("classical_x2")."""
    return f"{SWINIR_FAMILIES[model]}_x{scale}"


def official_swinir_files() -> dict[str, str] | None:
    """Variant -> official release file name, or None when the SwinIR modules are not installed."""
    try:
        from models.super_resolution.swinir import OFFICIAL_FILES
    except ImportError:
        return None
    return dict(OFFICIAL_FILES)


def load_swinir(path: Path, variant: str, device: str) -> nn.Module:
    """An official SwinIR checkpoint as an eval-mode module on `device` (key-for-key, strict)."""
    from models.super_resolution.swinir_weights import load_official_swinir

    module: nn.Module = load_official_swinir(path, variant, device)
    return module.eval()


def fp16_underflow_fraction(module: nn.Module) -> float:
    """Share of the nonzero floating-point weights and buffers with |w| < 6e-8, which float16 flushes to 0."""
    tiny = nonzero = 0
    for tensor in module.state_dict().values():
        if tensor.is_floating_point():
            magnitude = tensor.detach().abs()
            nonzero += int((magnitude > 0).sum())
            tiny += int(((magnitude > 0) & (magnitude < FP16_TINY)).sum())
    return tiny / max(nonzero, 1)


def fp16_safe(module: nn.Module) -> bool:
    """True if float16 keeps the weights: nothing above 65504 and at most 0.1% of nonzero weights below 6e-8."""
    for tensor in module.state_dict().values():
        if tensor.is_floating_point() and tensor.numel() and float(tensor.detach().abs().max()) > FP16_MAX:
            return False
    return fp16_underflow_fraction(module) <= FP16_UNDERFLOW_TOLERANCE


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def to_device(module: nn.Module, device: str) -> tuple[nn.Module, torch.dtype]:
    """Move to `device`; half precision on CUDA when the weights survive it, float32 otherwise."""
    dtype = torch.float16 if device.startswith("cuda") and fp16_safe(module) else torch.float32
    return module.to(device=device, dtype=dtype), dtype
