"""Write held-out sample scenes as PNGs with their ground truth, for the frontend and for manual tries.

    .venv/bin/python -m models.detection.samples models/detection/samples   # the committed three

Each `sample_<index>.png` is `dataset.heldout_scene(index)`; `samples.json` lists its boxes (x1 y1 x2 y2, pixels)
and labels. The images are never seen in training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.detection.dataset import CLASS_NAMES, heldout_scene
from models.imaging import encode_image

#: Held-out indices of the committed samples: four objects on a plain ground, nine on noise, nine on stripes.
SAMPLE_INDICES: tuple[int, ...] = (8, 16, 23)
SAMPLES_DIR = Path(__file__).with_name("samples")


def write_samples(out_dir: Path, indices: tuple[int, ...] = SAMPLE_INDICES) -> list[Path]:
    """Write one PNG per held-out index and a `samples.json` with their ground truth; returns the PNG paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, truth = [], {}
    for index in indices:
        scene = heldout_scene(index)
        path = out_dir / f"sample_{index}.png"
        path.write_bytes(encode_image(scene.image))
        paths.append(path)
        truth[path.name] = [
            {"box": [round(float(v), 2) for v in box], "label_id": int(label), "label": CLASS_NAMES[int(label)]}
            for box, label in zip(scene.boxes, scene.labels, strict=True)
        ]
    (out_dir / "samples.json").write_text(json.dumps(truth, indent=1) + "\n")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, nargs="?", default=SAMPLES_DIR)
    args = parser.parse_args()
    for path in write_samples(args.out_dir):
        print(path)  # noqa: T201 - the CLI's output is the list of files written


if __name__ == "__main__":
    main()
