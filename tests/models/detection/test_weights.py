"""Demo weights: committed, small, loadable key for key, and written byte-reproducibly."""

from __future__ import annotations

from pathlib import Path

import torch

from models.detection.dataset import CLASS_NAMES
from models.detection.network import DetectorConfig, TinyYolo
from models.detection.weights import DEMO_WEIGHTS_PATH, load_demo_model, save_demo_weights


def test_committed_demo_weights_load() -> None:
    assert DEMO_WEIGHTS_PATH.stat().st_size <= 10 * 1024 * 1024
    model, classes, info = load_demo_model()
    assert classes == CLASS_NAMES and model.config.num_classes == len(CLASS_NAMES)
    assert info["train_seed"] == "0" and int(info["train_steps"]) > 0
    assert not model.training


def test_saving_is_byte_reproducible_and_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TinyYolo(DetectorConfig(widths=(4, 8, 8, 8, 8), depths=(0, 1, 1, 1, 1), neck_channels=8))
    save_demo_weights(model, tmp_path / "a.safetensors", {"train_steps": "1", "train_seed": "0"})
    save_demo_weights(model, tmp_path / "b.safetensors", {"train_steps": "1", "train_seed": "0"})
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    loaded, _, _ = load_demo_model(tmp_path / "a.safetensors")
    assert loaded.config == model.config
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
