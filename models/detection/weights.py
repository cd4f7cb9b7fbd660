"""Where detection weights come from: the demo detector trained here, and torchvision's official COCO checkpoints.

Official checkpoints are the files torchvision's weights enums point at (`<Enum>.COCO_V1.url`), under their
official file names, looked for in the configured weights directory and then in the torch hub cache
(`$TORCH_HOME/hub/checkpoints`, where torchvision itself would have downloaded them). They load key for key into
the architecture torchvision builds for pretrained weights, with one listed difference from a `weights=None`
build: the ResNet-50 backbones use `FrozenBatchNorm2d` (no `num_batches_tracked` keys), with eps 0.0 where
torchvision calls `overwrite_eps(model, 0.0)` for the v1 files (pytorch/vision#2933).
Files are read with `torch.load(..., weights_only=True)`; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn
from torchvision.ops.misc import FrozenBatchNorm2d

from models.detection.dataset import CLASS_NAMES
from models.detection.network import DetectorConfig, TinyYolo
from models.detection.schema import TORCHVISION_MODELS

logger = logging.getLogger(__name__)

#: The committed demo weights, written by `python -m models.detection.train`.
DEMO_WEIGHTS_PATH = Path(__file__).with_name("weights") / "demo_detector.safetensors"

#: The safetensors metadata key holding the demo detector's config and class names (JSON).
_METADATA_KEY = "visionq.detection"

#: torch.hub's convention: the file name carries the first hex digits of its SHA-256 after a dash.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


@dataclass(frozen=True)
class TorchvisionVariant:
    """One official torchvision detector: how to build it and which checkpoint it takes."""

    name: str
    #: Builder in `torchvision.models.detection`.
    builder: str
    #: Weights enum in `torchvision.models.detection`; its COCO_V1 member gives the URL and the categories.
    weights_enum: str
    #: eps of the backbone's FrozenBatchNorm2d as torchvision loads this file; None keeps the built norm layers.
    frozen_bn_eps: float | None
    description: str

    @property
    def url(self) -> str:
        return str(getattr(torchvision.models.detection, self.weights_enum).COCO_V1.url)

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def categories(self) -> tuple[str, ...]:
        """COCO category names indexed by label id (0 is "__background__", unused ids are "N/A")."""
        return tuple(getattr(torchvision.models.detection, self.weights_enum).COCO_V1.meta["categories"])


TORCHVISION_VARIANTS: dict[str, TorchvisionVariant] = {
    v.name: v
    for v in (
        TorchvisionVariant(
            "fasterrcnn_resnet50_fpn",
            "fasterrcnn_resnet50_fpn",
            "FasterRCNN_ResNet50_FPN_Weights",
            0.0,
            "Faster R-CNN, ResNet-50 FPN, COCO (box AP 37.0)",
        ),
        TorchvisionVariant(
            "retinanet_resnet50_fpn",
            "retinanet_resnet50_fpn",
            "RetinaNet_ResNet50_FPN_Weights",
            0.0,
            "RetinaNet, ResNet-50 FPN, COCO (box AP 36.4)",
        ),
        TorchvisionVariant(
            "fcos_resnet50_fpn",
            "fcos_resnet50_fpn",
            "FCOS_ResNet50_FPN_Weights",
            1e-5,
            "FCOS, ResNet-50 FPN, COCO (box AP 39.2)",
        ),
        TorchvisionVariant(
            "ssdlite320_mobilenet_v3_large",
            "ssdlite320_mobilenet_v3_large",
            "SSDLite320_MobileNet_V3_Large_Weights",
            None,
            "SSDlite 320, MobileNetV3-Large, COCO (box AP 21.3)",
        ),
    )
}
if tuple(TORCHVISION_VARIANTS) != TORCHVISION_MODELS:
    raise RuntimeError(f"schema lists {TORCHVISION_MODELS}, weights define {tuple(TORCHVISION_VARIANTS)}")


def search_dirs(weights_dir: Path | None) -> list[Path]:
    """Directories searched for official checkpoints, in order: the configured one, then the torch hub cache."""
    dirs = [weights_dir] if weights_dir is not None else []
    return [*dirs, Path(torch.hub.get_dir()) / "checkpoints"]


def find_checkpoint(variant: TorchvisionVariant, weights_dir: Path | None) -> Path | None:
    """The first existing `<dir>/<official file name>` among `search_dirs(weights_dir)`, else None."""
    for directory in search_dirs(weights_dir):
        candidate = directory / variant.file_name
        if candidate.is_file():
            return candidate
    return None


def _freeze_batchnorm(module: nn.Module, eps: float) -> None:
    """Replace every BatchNorm2d by a FrozenBatchNorm2d (what torchvision builds when it loads weights)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, FrozenBatchNorm2d(child.num_features, eps=eps))
        else:
            _freeze_batchnorm(child, eps)


def build_torchvision_detector(
    variant: TorchvisionVariant, state_dict: dict[str, Tensor] | None = None, **kwargs: object
) -> nn.Module:
    """Build a torchvision detector with no downloads, optionally loading an official state dict.

    Args:
        variant: which detector.
        state_dict: official weights; None keeps torchvision's random initialisation (tests seed it).
        **kwargs: passed to the torchvision builder (e.g. `min_size`, `score_thresh`).

    Returns:
        The model in eval mode, with 91 COCO classes.
    """
    builder = getattr(torchvision.models.detection, variant.builder)
    model: nn.Module = builder(weights=None, weights_backbone=None, num_classes=91, **kwargs)
    if state_dict is not None:
        if variant.frozen_bn_eps is not None:
            _freeze_batchnorm(model, variant.frozen_bn_eps)
        expected = set(model.state_dict())
        missing, unexpected = expected - set(state_dict), set(state_dict) - expected
        if missing or unexpected:
            raise ValueError(
                f"{variant.file_name} does not match {variant.builder}: "
                f"missing keys {sorted(missing)[:5]}..., unexpected keys {sorted(unexpected)[:5]}..."
            )
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def load_torchvision_detector(variant: TorchvisionVariant, path: Path) -> nn.Module:
    """Build `variant` and load the official checkpoint at `path` (read with weights_only=True)."""
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    return build_torchvision_detector(variant, state_dict)


def fetch_weights(dest_dir: Path) -> list[Path]:
    """Download every official checkpoint missing from `dest_dir`, checking the hash in its file name.

    Used by `visionq weights fetch detection`; needs network access and is never called by tests.

    Returns:
        The paths of all official checkpoints in `dest_dir` afterwards.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for variant in TORCHVISION_VARIANTS.values():
        target = dest_dir / variant.file_name
        if not target.is_file():
            match = _HASH_IN_NAME.search(variant.file_name)
            logger.info("downloading %s to %s", variant.url, target)
            torch.hub.download_url_to_file(variant.url, str(target), hash_prefix=match.group(1) if match else None)
        paths.append(target)
    return paths


def save_demo_weights(model: TinyYolo, path: Path, extra_metadata: dict[str, str] | None = None) -> None:
    """Write the demo detector as safetensors, with its config, class names and `extra_metadata` in the header.

    Everything goes under one metadata key, `_METADATA_KEY`, as sorted JSON: safetensors writes its metadata
    map in hash order, so several keys would make two runs of the same training differ byte for byte.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous().clone() for name, tensor in model.state_dict().items()}
    info = {"config": model.config.to_json(), "classes": list(CLASS_NAMES), **(extra_metadata or {})}
    save_file(state, str(path), metadata={_METADATA_KEY: json.dumps(info, sort_keys=True)})


def load_demo_model(path: Path = DEMO_WEIGHTS_PATH) -> tuple[TinyYolo, tuple[str, ...], dict[str, str]]:
    """Build the demo detector from its safetensors file.

    Returns:
        The model (eval mode), its class names and the file's other metadata (e.g. "train_steps").
    """
    with safe_open(str(path), framework="pt") as f:
        info = json.loads((f.metadata() or {})[_METADATA_KEY])
        state = {key: f.get_tensor(key) for key in f.keys()}
    model = TinyYolo(DetectorConfig.from_json(info.pop("config")))
    model.load_state_dict(state, strict=True)
    classes = tuple(info.pop("classes"))
    return model.eval(), classes, {key: str(value) for key, value in info.items()}
