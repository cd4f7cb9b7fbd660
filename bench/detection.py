"""Detection benchmark: per-stage latency at 320 and 640 px, and throughput with batching on and off.

    .venv/bin/python bench/detection.py [--model demo] [--repeats 30] [--batch 8] [--threads N]

Runs the task in process, exactly as a worker does (preprocess -> forward -> postprocess), on generated
held-out-style scenes encoded as PNG. Latency: one image per forward, median and p90 of each stage and of the whole
path (wall clock). Throughput: `--batch` images of 640 px processed one forward each ("off") or in one forward
("on"). Prints a table and writes bench/results/detection.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from models.base import TaskItem
from models.detection.dataset import HELDOUT_SEED_BASE, generate_scene
from models.detection.schema import Params
from models.detection.task import DetectionTask
from models.imaging import encode_image

RESULTS = Path(__file__).resolve().parent / "results" / "detection.json"
STAGES = ("decode", "preprocess", "forward", "nms", "annotate")


def _png(size: int, seed: int) -> bytes:
    return encode_image(generate_scene(HELDOUT_SEED_BASE + 900_000 + seed, size, size).image)


def _run(task: DetectionTask, items: list[TaskItem], params: Params) -> list[dict[str, Any]]:
    prepared = [task.preprocess(item, params) for item in items]
    raws = task.forward(prepared, [params] * len(prepared), lambda index, fraction: None)
    return [task.postprocess(raw, params).result for raw in raws]


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2)}


def latency(task: DetectionTask, size: int, params: Params, repeats: int) -> dict[str, Any]:
    item = TaskItem(job_id=f"bench-{size}", data=_png(size, 0))
    for _ in range(3):  # warm-up: first calls allocate
        _run(task, [item], params)
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals, counts = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        result = _run(task, [item], params)[0]
        totals.append((time.perf_counter() - start) * 1000)
        counts.append(len(result["detections"]))
        for stage in STAGES:
            stages[stage].append(result["timings_ms"][stage])
    return {
        "size_px": size,
        "stages_ms": {stage: _quantiles(values) for stage, values in stages.items()},
        "end_to_end_ms": _quantiles(totals),
        "detections": counts[-1],
    }


def throughput(task: DetectionTask, size: int, batch: int, params: Params, repeats: int) -> dict[str, float]:
    items = [TaskItem(job_id=f"bench-{i}", data=_png(size, i)) for i in range(batch)]
    _run(task, items, params)
    rates = {}
    for mode in ("off", "on"):
        start = time.perf_counter()
        for _ in range(repeats):
            if mode == "on":
                _run(task, items, params)
            else:
                for item in items:
                    _run(task, [item], params)
        rates[mode] = round(batch * repeats / (time.perf_counter() - start), 2)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = DetectionTask()
    task.load("cpu", None)
    params = Params(model=args.model)
    rows = [latency(task, size, params, args.repeats) for size in (320, 640)]
    rates = throughput(task, 640, args.batch, params, max(args.repeats // 10, 2))

    header = f"{'size':>6} " + " ".join(f"{s:>11}" for s in STAGES) + f" {'end-to-end':>11} {'p90':>8}"
    print(f"detection, model={args.model}, torch threads={args.threads}, {platform.processor() or platform.machine()}")
    print("latency per stage, ms (median of", args.repeats, "runs, one image per forward)")
    print(header)
    for row in rows:
        cells = " ".join(f"{row['stages_ms'][s]['p50']:>11.2f}" for s in STAGES)
        e2e = row["end_to_end_ms"]
        print(f"{row['size_px']:>6} {cells} {e2e['p50']:>11.2f} {e2e['p90']:>8.2f}")
    print(
        f"throughput at 640 px, {args.batch} images: batching off {rates['off']:.2f} img/s, "
        f"on {rates['on']:.2f} img/s ({rates['on'] / rates['off']:.2f}x)"
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": args.model,
        "torch_threads": args.threads,
        "repeats": args.repeats,
        "latency": rows,
        "throughput_img_per_s": {"size_px": 640, "batch": args.batch, **rates},
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
