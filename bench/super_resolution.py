"""Super-resolution throughput: MPix/s (output) per model and scale, tiled vs untiled, and the batching gain.

    python bench/super_resolution.py [--size 384] [--repeats 3] [--weights-dir DIR] [--memory]

In-process through the task (decode and encode excluded): the same input upscaled whole, then in 128-px tiles;
and eight 128x128 images upscaled one forward each vs all in one batched forward. Every model the task loads is
measured at x2 and x4 where it supports them (SwinIR only when its official file is in `--weights-dir`).
Medians of `--repeats` runs, side by side in one run. Prints a table and writes
bench/results/super_resolution.json. `--memory` also upscales a 4096x4096 input x2 with SRResNet through
preprocess/forward/postprocess and reports the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.base import TaskItem  # noqa: E402
from models.imaging import encode_image  # noqa: E402
from models.super_resolution.photos import HELDOUT_PHOTOS, load_photo  # noqa: E402  (after the path fix)
from models.super_resolution.schema import SUPPORTED_SCALES, Params  # noqa: E402
from models.super_resolution.task import Prepared, SuperResolutionTask  # noqa: E402


def median_s(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_memory(task: SuperResolutionTask) -> dict[str, float]:
    """Peak RSS of the whole process after a 4096x4096 -> 8192x8192 SRResNet job, decode to PNG."""
    rgb = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    item = TaskItem(job_id="bench", data=encode_image(rgb))
    del rgb
    params = Params(model="srresnet", scale=2)
    started = time.perf_counter()
    prepared = task.preprocess(item, params)
    (raw,) = task.forward([prepared], [params], lambda i, f: None)
    del prepared
    out = task.postprocess(raw, params)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"seconds": seconds, "peak_rss_gb": peak_kb / 1024**2, "png_mb": len(out.artifacts["image"].data) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--weights-dir", type=Path, default=None, help="where official SwinIR files are")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS for 4096x4096 at x2")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "super_resolution.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = SuperResolutionTask()
    task.load("cpu", args.weights_dir)
    photo = torch.from_numpy(load_photo(HELDOUT_PHOTOS[0])).permute(2, 0, 1).float() / 255
    image = photo[:, : args.size, : args.size].contiguous()
    small = [photo[:, y : y + 128, x : x + 128].contiguous() for y in (0, 128) for x in (0, 100, 200, 300)]
    rows = []

    def run(items: list[Prepared], params: Params) -> None:
        task.forward(items, [params] * len(items), lambda i, f: None)

    measured = [(m, s) for m in SUPPORTED_SCALES for s in (2, 4) if (m, s) in task.networks]
    for model, scale in measured:
        untiled_p = Params(model=model, scale=scale, tile=2048, tile_overlap=32)  # type: ignore[arg-type]
        tiled_p = Params(model=model, scale=scale, tile=128, tile_overlap=32)  # type: ignore[arg-type]
        out_mpix = args.size**2 * scale**2 / 1e6
        untiled = median_s(lambda p=untiled_p: run([Prepared(image, 2048, 0.0)], p), args.repeats)
        tiled = median_s(lambda p=tiled_p: run([Prepared(image, 128, 0.0)], p), args.repeats)
        batch_p = Params(model=model, scale=scale, tile=128, tile_overlap=32)  # type: ignore[arg-type]
        one_by_one = median_s(lambda p=batch_p: [run([Prepared(s, 128, 0.0)], p) for s in small], args.repeats)
        batched = median_s(lambda p=batch_p: run([Prepared(s, 128, 0.0) for s in small], p), args.repeats)
        small_mpix = len(small) * 128**2 * scale**2 / 1e6
        rows.append(
            {
                "model": model,
                "scale": scale,
                "untiled_mpix_s": out_mpix / untiled,
                "tiled_mpix_s": out_mpix / tiled,
                "one_by_one_mpix_s": small_mpix / one_by_one,
                "batched_mpix_s": small_mpix / batched,
                "batching_gain": one_by_one / batched,
            }
        )
    print(
        f"super-resolution throughput (output MPix/s), {args.size}x{args.size} input, 128-px tiles, "
        f"{args.threads} threads, median of {args.repeats}"
    )
    print(
        f"{'model':<18} {'scale':>5} | {'untiled':>8} {'tiled':>8} | {'8x128² 1-by-1':>13} {'batched':>8} {'gain':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:<18} {r['scale']:>5} | {r['untiled_mpix_s']:>8.2f} {r['tiled_mpix_s']:>8.2f} | "
            f"{r['one_by_one_mpix_s']:>13.2f} {r['batched_mpix_s']:>8.2f} {r['batching_gain']:>5.2f}x"
        )
    report: dict[str, object] = {"size": args.size, "threads": args.threads, "rows": rows}
    if args.memory:
        report["memory"] = measure_memory(task)
        print(
            "4096x4096 srresnet x2 (default tiles): {seconds:.0f} s, peak RSS {peak_rss_gb:.2f} GB".format(
                **report["memory"]
            )
        )  # type: ignore[arg-type]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
