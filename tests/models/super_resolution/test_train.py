"""The demo SRResNet's training: reproducible, and it never sees a held-out photo (or its stereo twin)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open

from models.super_resolution.photos import HELDOUT_PHOTOS, TRAIN_PHOTOS
from models.super_resolution.train import DEFAULT_STEPS, WEIGHTS_DIR, train_scale


def test_two_short_runs_give_identical_weights() -> None:
    torch.set_num_threads(1)
    first, _ = train_scale(scale=2, steps=3, batch=2, lr_crop=8, seed=7)
    second, _ = train_scale(scale=2, steps=3, batch=2, lr_crop=8, seed=7)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_held_out_photos_and_their_stereo_twins_are_not_trained_on() -> None:
    assert not set(TRAIN_PHOTOS) & set(HELDOUT_PHOTOS)
    twins = {n.replace("_right", "_left") for n in HELDOUT_PHOTOS} | {
        n.replace("_left", "_right") for n in HELDOUT_PHOTOS
    }
    assert not set(TRAIN_PHOTOS) & twins


def test_committed_weights_are_small_and_match_the_default_steps() -> None:
    for scale, steps in DEFAULT_STEPS.items():
        path: Path = WEIGHTS_DIR / f"srresnet_x{scale}.safetensors"
        assert path.stat().st_size <= 10 * 1024 * 1024
        with safe_open(str(path), "pt") as f:
            assert f.metadata()["steps"] == str(steps)
