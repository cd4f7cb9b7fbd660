"""The super_resolution task: decode -> tile -> upscale (tiles of several requests batched) -> blend -> encode.

Models: bicubic (always), the demo SRResNet x2/x4 (committed weights), and each official SwinIR release whose
file is in the worker's weights directory (`swinir.OFFICIAL_FILES` names them). A request for a model this
worker has not loaded fails in `preprocess` with code "model_unavailable", naming the file to install.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from models.base import Artifact, ModelInfo, ProgressFn, TaskItem, TaskOutput
from models.errors import TaskInputError
from models.imaging import decode_rgb, encode_image
from models.super_resolution.degrade import bicubic_upscale
from models.super_resolution.schema import (
    AUTO_TILE,
    MAX_OUTPUT_PIXELS,
    MAX_OUTPUT_SIDE,
    SPEC,
    SUPPORTED_SCALES,
    Params,
)
from models.super_resolution.tiling import TiledImage, tiled_forward
from models.super_resolution.weights import (
    SWINIR_FAMILIES,
    demo_weights_path,
    load_srresnet,
    load_swinir,
    official_swinir_files,
    swinir_variant,
    to_device,
)

logger = logging.getLogger(__name__)

#: Largest accepted input (pixels); the gateway's limit is the same by default.
MAX_INPUT_PIXELS = 64 * 1024 * 1024
#: 256-px tiles per network call; smaller tiles go more per call, larger ones fewer (at least one), so a call's
#: activations stay bounded whatever `tile` a request picks. SRResNet/bicubic: eight 256-px tiles keep them under
#: ~1 GB on CPU. SwinIR-M keeps 180 channels and 2x-wide MLP activations per pixel, so it gets fewer.
TILE_BATCH: dict[str, int] = {
    "bicubic": 8,
    "srresnet": 8,
    "swinir-classical": 2,
    "swinir-lightweight": 4,
    "swinir-real": 2,
}

Network = Callable[[Tensor], Tensor]


@dataclass
class Prepared:
    image: Tensor  # (3, H, W) float32 in [0, 1], on the CPU
    tile: int  # tile side in input pixels
    decode_ms: float


@dataclass
class Raw:
    output: Tensor  # (3, sH, sW) float32 in [0, 1]
    tiles: int
    tile: int
    forward_ms: float
    decode_ms: float
    input_size: tuple[int, int]  # (W, H)


class SuperResolutionTask:
    def __init__(self) -> None:
        self.spec = SPEC
        self.device = "cpu"
        self.batch_tiles = False
        self.networks: dict[tuple[str, int], tuple[Network, torch.dtype]] = {}
        self.sources: dict[str, str] = {}

    def load(self, device: str, weights_dir: Path | None) -> None:
        self.device = device
        # Tiles (of one or several requests) share network calls on a GPU only. On CPU a bigger call just adds
        # cache misses (one thread, SRResNet x2): a 768 px job took 3.4 s with one 256-px tile per call against
        # 6.6 s with eight; four 128-px tiles per call were 1.3-1.8x slower than one; even 32-px tiles gained
        # nothing from 4 or 16 per call (0.38 / 0.37 s against 0.36 s for a 256 px image).
        self.batch_tiles = device.startswith("cuda")
        for scale in SUPPORTED_SCALES["bicubic"]:
            self.networks["bicubic", scale] = (_Bicubic(scale), torch.float32)
        self.sources["bicubic"] = "builtin (no weights)"
        for scale in SUPPORTED_SCALES["srresnet"]:
            self.networks["srresnet", scale] = _prepare(load_srresnet(scale), device)
        files = ", ".join(demo_weights_path(s).name for s in SUPPORTED_SCALES["srresnet"])
        self.sources["srresnet"] = f"demo (trained here: {files})"
        self._load_swinir(device, weights_dir)
        with torch.inference_mode():  # warm-up: first calls allocate and pick kernels
            for network, dtype in self.networks.values():
                network(torch.rand(1, 3, 32, 32, device=device, dtype=dtype))

    def _load_swinir(self, device: str, weights_dir: Path | None) -> None:
        files = official_swinir_files()
        for model in SWINIR_FAMILIES:
            if files is None:
                self.sources[model] = "missing: the SwinIR code (models/super_resolution/swinir.py) is not installed"
                continue
            found, missing = [], []
            for scale in SUPPORTED_SCALES[model]:
                variant = swinir_variant(model, scale)
                path = (weights_dir / files[variant]) if weights_dir is not None else None
                if path is None or not path.is_file():
                    missing.append(files[variant])
                    continue
                self.networks[model, scale] = _prepare(load_swinir(path, variant, "cpu"), device)
                found.append(str(path))
                logger.info("loaded SwinIR %s from %s", variant, path)
            where = str(weights_dir) if weights_dir is not None else "the worker's weights directory (weights_dir)"
            parts = [f"official: {', '.join(found)}"] if found else []
            if missing:
                parts.append(f"missing: put {', '.join(missing)} in {where}")
            self.sources[model] = "; ".join(parts)

    def models(self) -> list[ModelInfo]:
        descriptions = {
            "srresnet": "SRResNet demo (32 channels, 6 residual blocks), trained here on scikit-image photos",
            "bicubic": "bicubic interpolation, the baseline",
            "swinir-classical": "SwinIR-M classical SR (official, DF2K, bicubic degradation)",
            "swinir-lightweight": "SwinIR-S lightweight SR (official, DIV2K)",
            "swinir-real": "SwinIR-M real-world SR (official, BSRGAN degradations, GAN-trained)",
        }
        infos = []
        for model, description in descriptions.items():
            loaded = [s for s in SUPPORTED_SCALES[model] if (model, s) in self.networks]
            scales = "/".join(f"x{s}" for s in loaded) or "none loaded"
            infos.append(
                ModelInfo(model, f"{description}; {scales}", self.sources.get(model, "not loaded"), model == "srresnet")
            )
        return infos

    def preprocess(self, item: TaskItem, params: Params) -> Prepared:
        if (params.model, params.scale) not in self.networks:
            raise TaskInputError(
                f"{params.model} x{params.scale} is not available on this worker: "
                f"{self.sources.get(params.model, 'not loaded')}",
                code="model_unavailable",
                details={"model": params.model, "scale": params.scale},
            )
        started = time.perf_counter()
        rgb = decode_rgb(item.data or b"", MAX_INPUT_PIXELS)
        h, w = rgb.shape[:2]
        out_w, out_h = w * params.scale, h * params.scale
        if max(out_w, out_h) > MAX_OUTPUT_SIDE or out_w * out_h > MAX_OUTPUT_PIXELS:
            raise TaskInputError(
                f"x{params.scale} of a {w}x{h} image is {out_w}x{out_h}; the output may be at most "
                f"{MAX_OUTPUT_SIDE} px on a side and {MAX_OUTPUT_PIXELS} pixels in all",
                code="output_too_large",
                details={
                    "output_width": out_w,
                    "output_height": out_h,
                    "max_output_side": MAX_OUTPUT_SIDE,
                    "max_output_pixels": MAX_OUTPUT_PIXELS,
                },
            )
        image = torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255)  # (3, H, W)
        return Prepared(image, params.tile or AUTO_TILE, (time.perf_counter() - started) * 1000)

    def batch_key(self, prepared: Prepared, params: Params) -> Hashable:
        """Same network and the same tile shape and overlap: tiles of all such requests can share batches."""
        _, h, w = prepared.image.shape
        return params.model, params.scale, min(prepared.tile, h), min(prepared.tile, w), params.tile_overlap

    def forward(self, batch: Sequence[Prepared], params: Sequence[Params], progress: ProgressFn) -> list[Raw]:
        first = params[0]  # equal batch keys: one model, scale, tile shape and overlap for the whole group
        network, dtype = self.networks[first.model, first.scale]
        images = [TiledImage(item.image, first.scale, item.tile, first.tile_overlap) for item in batch]
        th, tw = images[0].tile_shape
        tiles_per_call = max(1, TILE_BATCH[first.model] * AUTO_TILE**2 // (th * tw)) if self.batch_tiles else 1
        started = time.perf_counter()
        with torch.inference_mode():
            outputs = tiled_forward(images, network, tiles_per_call, progress, self.device, dtype)
        forward_ms = (time.perf_counter() - started) * 1000
        return [
            Raw(out, image.count, item.tile, forward_ms, item.decode_ms, (item.image.shape[2], item.image.shape[1]))
            for out, image, item in zip(outputs, images, batch, strict=True)
        ]

    def postprocess(self, raw: Raw, params: Params) -> TaskOutput:
        started = time.perf_counter()
        # in place: the float output is the largest buffer of a job; don't copy it on the way to uint8
        rgb = raw.output.mul_(255).round_().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()  # (sH, sW, 3)
        data = encode_image(rgb, params.output_format)
        encode_ms = (time.perf_counter() - started) * 1000
        _, dtype = self.networks[params.model, params.scale]
        result = {
            "model": params.model,
            "scale": params.scale,
            "input_width": raw.input_size[0],
            "input_height": raw.input_size[1],
            "width": rgb.shape[1],
            "height": rgb.shape[0],
            "tiles": raw.tiles,
            "tile": raw.tile,
            "device": self.device,
            "precision": "float16" if dtype == torch.float16 else "float32",
            "timings_ms": {"decode": raw.decode_ms, "forward": raw.forward_ms, "encode": encode_ms},
        }
        return TaskOutput(result, {"image": Artifact(data, f"image/{params.output_format}")})


class _Bicubic:
    """The baseline as a network: (B, 3, H, W) -> (B, 3, sH, sW)."""

    def __init__(self, scale: int) -> None:
        self.scale = scale

    def __call__(self, x: Tensor) -> Tensor:
        return bicubic_upscale(x, self.scale)


def _prepare(module: nn.Module, device: str) -> tuple[Network, torch.dtype]:
    """Eval mode on `device`, float16 on CUDA when the weights survive it (weights.fp16_safe)."""
    module, dtype = to_device(module.eval(), device)
    if dtype == torch.float32 and device.startswith("cuda"):
        logger.info(
            "%s stays float32 on %s: float16 would flush or overflow its weights", type(module).__name__, device
        )
    return module, dtype
