"""Super-resolution params and result (torch-free: the gateway validates with these before anything is queued)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.base import InputKind, TaskSpec

ModelName = Literal["srresnet", "bicubic", "swinir-classical", "swinir-lightweight", "swinir-real"]

#: Scales each model serves: the demo SRResNet weights exist for x2 and x4 (models/super_resolution/weights); the
#: SwinIR ones are the official releases (classical x2/3/4/8, lightweight x2/3/4, real-world x4 only).
SUPPORTED_SCALES: dict[str, tuple[int, ...]] = {
    "srresnet": (2, 4),
    "bicubic": (2, 3, 4, 8),
    "swinir-classical": (2, 3, 4, 8),
    "swinir-lightweight": (2, 3, 4),
    "swinir-real": (4,),
}
#: SwinIR attends within 8x8 windows (every official release uses window_size 8): tiles must hold whole windows.
SWINIR_TILE_MULTIPLE = 8
#: Largest output side in pixels; beyond it PNG/WebP encoders and browsers struggle (WebP's own limit is 16383).
MAX_OUTPUT_SIDE = 16384
#: Largest output in pixels: a 4096x4096 input at x2 (64 MP out) fits; x4 of it (268 MP) does not. The blend
#: accumulators cost 16 bytes per output pixel, so this bounds them at ~2 GB.
MAX_OUTPUT_PIXELS = 128 * 1024 * 1024
#: With `tile` unset, images up to this side run untiled and larger ones in tiles of this side (bench/
#: super_resolution.py compares tiled and untiled throughput); tiles bound memory for any size.
AUTO_TILE = 256


class Params(BaseModel):
    """Which model upscales by how much, and how the image is cut into tiles."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"model": "srresnet", "scale": 2},
                {"model": "bicubic", "scale": 4, "output_format": "webp"},
                {"model": "swinir-classical", "scale": 4, "tile": 128, "tile_overlap": 32},
            ]
        },
    )

    model: ModelName = Field(
        default="srresnet",
        description="srresnet: the demo trained here (x2, x4); bicubic: interpolation baseline (any scale); "
        "swinir-*: official SwinIR releases, served when their checkpoint is in the worker's weights directory "
        "(GET /models says which files are missing).",
    )
    scale: Literal[2, 3, 4, 8] = Field(default=2, description="Upscaling factor; each model supports some of them.")
    tile: int | None = Field(
        default=None,
        ge=32,
        le=2048,
        description=f"Input pixels per tile side (a multiple of {SWINIR_TILE_MULTIPLE} for SwinIR). Unset: images "
        f"up to {AUTO_TILE} px run whole, larger ones in {AUTO_TILE}-px tiles. Tiles bound memory for any size.",
    )
    tile_overlap: int = Field(
        default=16,
        ge=0,
        le=512,
        description="Input pixels neighbouring tiles share, blended with a linear ramp. At least the model's "
        "receptive radius (16 px for the demo SRResNet) makes tiled output equal untiled output outside the "
        "overlaps; SwinIR's attention sees further, so its seams only fade (the official test script uses 32).",
    )
    output_format: Literal["png", "webp"] = Field(default="png", description="Lossless PNG or lossless WebP.")

    @model_validator(mode="after")
    def _refuse_impossible_combinations(self) -> Params:
        scales = SUPPORTED_SCALES[self.model]
        if self.scale not in scales:
            raise ValueError(f"model {self.model!r} supports scale {' or '.join(map(str, scales))}, not {self.scale}")
        if self.model.startswith("swinir") and self.tile is not None and self.tile % SWINIR_TILE_MULTIPLE:
            raise ValueError(
                f"tile must be a multiple of {SWINIR_TILE_MULTIPLE} for {self.model!r} (its attention windows are "
                f"{SWINIR_TILE_MULTIPLE}x{SWINIR_TILE_MULTIPLE}), got {self.tile}"
            )
        tile = self.tile or AUTO_TILE
        if 2 * self.tile_overlap >= tile:
            raise ValueError(f"tile_overlap ({self.tile_overlap}) must be less than half the tile ({tile})")
        return self


class Timings(BaseModel):
    decode: float = Field(description="Decoding the upload to pixels, ms.")
    forward: float = Field(description="The batched network call(s) this item took part in, ms.")
    encode: float = Field(description="Encoding the output image, ms.")


class Result(BaseModel):
    """The upscaled image is the artifact `image`; this describes it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "srresnet",
                    "scale": 2,
                    "input_width": 320,
                    "input_height": 240,
                    "width": 640,
                    "height": 480,
                    "tiles": 4,
                    "tile": 256,
                    "device": "cpu",
                    "precision": "float32",
                    "timings_ms": {"decode": 3.1, "forward": 180.2, "encode": 40.5},
                }
            ]
        }
    )

    model: str
    scale: int
    input_width: int
    input_height: int
    width: int = Field(description="Output width in pixels (input_width * scale).")
    height: int = Field(description="Output height in pixels (input_height * scale).")
    tiles: int = Field(description="Tiles the image was cut into (1: untiled).")
    tile: int = Field(description="Tile side in input pixels.")
    device: str
    precision: Literal["float32", "float16"]
    timings_ms: Timings


SPEC = TaskSpec(
    name="super_resolution",
    title="Super-resolution",
    description="Upscale a photo x2-x8 with the SRResNet demo, bicubic or official SwinIR checkpoints; tiled, so "
    "any size runs in bounded memory, and tiles of several requests share one batch.",
    input_kind=InputKind.image,
    params=Params,
    result=Result,
    implementation="models.super_resolution.task:SuperResolutionTask",
)
