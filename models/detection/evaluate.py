"""Measure the demo detector on held-out generated scenes: mAP@0.5 and mAP@0.5:0.95 (COCO-style).

    .venv/bin/python -m models.detection.evaluate            # 500 held-out scenes, the committed weights

The scenes are `dataset.heldout_scene(i)` for i < --images: seeds training never draws, 256-640 px long side,
any aspect ratio. Inference is the serving path (letterbox, batched forward, `kernels.postprocess`), with the low
confidence threshold and high detection cap usual for mAP (YOLOv5 `val.py`: conf 0.001, IoU 0.6).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from models.detection.dataset import CLASS_NAMES, heldout_scene
from models.detection.demo import NmsOptions, detect, predict, prepare
from models.detection.metrics import COCO_IOU_THRESHOLDS, ImageEval, average_precision, mean_average_precision
from models.detection.weights import DEMO_WEIGHTS_PATH, load_demo_model

EVAL_NMS = NmsOptions(conf_thres=0.001, iou_thres=0.6, method="vision_batch", multi_label=False, max_det=300)


def evaluate(weights: Path, num_images: int, batch_size: int = 8) -> tuple[dict[float, float], list[ImageEval]]:
    """Run the demo detector over held-out scenes; returns {IoU threshold: mAP} and the per-image records."""
    model, classes, _ = load_demo_model(weights)
    records: list[ImageEval] = []
    for start in tqdm(range(0, num_images, batch_size), desc="evaluate detection", unit="batch"):
        scenes = [heldout_scene(i) for i in range(start, min(start + batch_size, num_images))]
        items = [prepare(scene.image, model.config.input_size) for scene in scenes]
        rows = predict(model, items)
        for scene, item, image_rows in zip(scenes, items, rows, strict=True):
            det = detect(image_rows, item, EVAL_NMS).numpy()
            records.append(ImageEval(det[:, :4], det[:, 4], det[:, 5].astype(np.int64), scene.boxes, scene.labels))
    return mean_average_precision(records, len(classes)), records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEMO_WEIGHTS_PATH)
    parser.add_argument("--images", type=int, default=500, help="held-out scenes to evaluate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    maps, records = evaluate(args.weights, args.images)
    elapsed_s = time.perf_counter() - start
    num_objects = sum(len(r.gt_labels) for r in records)
    print(f"weights: {args.weights}")
    print(f"held-out scenes: {len(records)} ({num_objects} objects), {elapsed_s:.1f} s")
    print(f"{'class':<10} {'AP@0.5':>8} {'AP@0.5:0.95':>12}")
    for label, name in enumerate(CLASS_NAMES):
        ap50 = average_precision(records, label, 0.5)
        ap_range = [average_precision(records, label, t) for t in COCO_IOU_THRESHOLDS]
        if ap50 is not None:
            print(f"{name:<10} {ap50:>8.3f} {float(np.mean([a for a in ap_range if a is not None])):>12.3f}")
    print(f"mAP@0.5      {maps[0.5]:.4f}")
    print(f"mAP@0.5:0.95 {float(np.mean(list(maps.values()))):.4f}")


if __name__ == "__main__":
    main()
