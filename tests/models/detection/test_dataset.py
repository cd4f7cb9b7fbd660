"""Generated scenes: reproducible, valid ground truth, held-out seeds apart from training ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.detection.dataset import CLASS_NAMES, HELDOUT_SEED_BASE, TRAIN_SEEDS, generate_scene, heldout_scene
from models.detection.samples import SAMPLES_DIR, write_samples


def test_scenes_are_a_function_of_the_seed() -> None:
    a, b = generate_scene(7, 160, 120), generate_scene(7, 160, 120)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.image, generate_scene(8, 160, 120).image)


def test_ground_truth_is_valid() -> None:
    for seed in range(20):
        scene = generate_scene(seed, 200, 150)
        assert scene.image.shape == (150, 200, 3) and scene.image.dtype == np.uint8
        assert len(scene.boxes) == len(scene.labels) >= 0
        assert ((scene.labels >= 0) & (scene.labels < len(CLASS_NAMES))).all()
        assert (scene.boxes[:, 0] >= 0).all() and (scene.boxes[:, 2] <= 200).all()
        assert (scene.boxes[:, 1] >= 0).all() and (scene.boxes[:, 3] <= 150).all()
        assert (scene.boxes[:, 2:] - scene.boxes[:, :2] >= 10).all()


def test_heldout_scenes_are_beyond_training_seeds() -> None:
    assert HELDOUT_SEED_BASE >= TRAIN_SEEDS
    scene = heldout_scene(0)
    assert 256 <= max(scene.image.shape[:2]) <= 640
    assert len(scene.labels) >= 1


def test_scenes_have_the_advertised_variety() -> None:
    labels = np.concatenate([generate_scene(seed, 256, 256).labels for seed in range(40)])
    assert set(labels.tolist()) == set(range(len(CLASS_NAMES)))
    counts = [len(generate_scene(seed, 256, 256).labels) for seed in range(40)]
    assert max(counts) >= 5  # clutter: several objects per scene happen


def test_committed_samples_are_held_out_scenes(tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    for path in written:
        assert (SAMPLES_DIR / path.name).read_bytes() == path.read_bytes()
    truth = json.loads((SAMPLES_DIR / "samples.json").read_text())
    assert set(truth) == {path.name for path in written}
