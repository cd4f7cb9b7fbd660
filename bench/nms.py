"""NMS on visionq's CPU kernels against torchvision, measured side by side in one run.

Prints a table and writes bench/results/nms.json. Inputs follow the issue's baseline: boxes in a 1000 x 1000
canvas, top-left corners uniform, sides uniform in 1-121 px, uniform float32 scores, IoU threshold 0.5, one
thread (torch.set_num_threads), plus the adversarial layouts: one dense cluster, boxes spanning the whole
canvas, many exact duplicates, extreme aspect ratios. Each row also checks that both return the same indices.
The two implementations run alternately, so load from other processes hits both alike; times are medians.

    .venv/bin/python bench/nms.py [--threads 1] [--out bench/results/nms.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torchvision
from torch import Tensor

import kernels

ROOT = Path(__file__).resolve().parent.parent
CANVAS_PX = 1000.0
MAX_SIDE_PX = 121.0
IOU_THRESHOLD = 0.5
# Time budget per row for the slower side, and the bounds on repetitions.
BUDGET_S = 4.0
MIN_REPS, MAX_REPS = 3, 200


@dataclass
class Row:
    op: str
    layout: str
    boxes: int
    torchvision_ms: float
    visionq_ms: float
    speedup: float
    same_output: bool
    reps: int


def random_layout(n: int, g: torch.Generator) -> Tensor:
    xy = torch.rand(n, 2, generator=g) * CANVAS_PX
    wh = 1 + torch.rand(n, 2, generator=g) * (MAX_SIDE_PX - 1)
    return torch.cat((xy, xy + wh), dim=1)


def dense_cluster(n: int, g: torch.Generator) -> Tensor:
    """Every box overlaps every other: centres within a few pixels, sides ~100 px."""
    centre = 500 + torch.randn(n, 2, generator=g) * 3
    half = (100 + torch.rand(n, 2, generator=g) * 10) / 2
    return torch.cat((centre - half, centre + half), dim=1)


def whole_canvas(n: int, g: torch.Generator) -> Tensor:
    """Boxes that span the whole canvas, corners jittered by up to 5 px."""
    return torch.cat((torch.rand(n, 2, generator=g) * 5, CANVAS_PX - torch.rand(n, 2, generator=g) * 5), dim=1)


def duplicates(n: int, g: torch.Generator) -> Tensor:
    """n / 50 distinct random boxes, each repeated 50 times exactly."""
    return random_layout(max(1, n // 50), g).repeat(50, 1)[:n]


def extreme_aspect(n: int, g: torch.Generator) -> Tensor:
    """Half 600 x 1-4 px slivers, half 1-4 x 600 px ones."""
    boxes = random_layout(n, g)
    boxes[:, 2:] = boxes[:, :2] + 1 + torch.rand(n, 2, generator=g) * 3
    boxes[: n // 2, 2] += 600
    boxes[n // 2 :, 3] += 600
    return boxes


LAYOUTS: dict[str, Callable[[int, torch.Generator], Tensor]] = {
    "random": random_layout,
    "dense cluster": dense_cluster,
    "whole canvas": whole_canvas,
    "duplicates": duplicates,
    "extreme aspect": extreme_aspect,
}


def measure(baseline: Callable[[], Tensor], ours: Callable[[], Tensor]) -> tuple[float, float, int, bool]:
    """Median milliseconds of each, run alternately; and whether their outputs are equal."""
    same = torch.equal(baseline(), ours())
    start = time.perf_counter()
    baseline()
    once_s = time.perf_counter() - start
    reps = max(MIN_REPS, min(MAX_REPS, int(BUDGET_S / max(once_s, 1e-6))))
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(reps):
        for fn, out in ((baseline, times[0]), (ours, times[1])):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1]), reps, same


def run_cases() -> list[Row]:
    g = torch.Generator().manual_seed(0)
    cases: list[tuple[str, str, int]] = [("nms", "random", n) for n in (10, 100, 1000, 5000, 20000)]
    cases += [("batched_nms 80 cls", "random", n) for n in (1000, 10000)]
    cases += [("nms", layout, n) for layout in list(LAYOUTS)[1:] for n in (1000, 5000)]
    rows = []
    for op, layout, n in cases:
        boxes = LAYOUTS[layout](n, g)
        scores = torch.rand(n, generator=g)
        if op == "nms":
            tv, ours = (
                lambda b=boxes, s=scores: torchvision.ops.nms(b, s, IOU_THRESHOLD),
                lambda b=boxes, s=scores: kernels.nms(b, s, IOU_THRESHOLD),
            )
        else:
            idxs = torch.randint(0, 80, (n,), generator=g)
            tv, ours = (
                lambda b=boxes, s=scores, i=idxs: torchvision.ops.batched_nms(b, s, i, IOU_THRESHOLD),
                lambda b=boxes, s=scores, i=idxs: kernels.batched_nms(b, s, i, IOU_THRESHOLD),
            )
        tv_ms, ours_ms, reps, same = measure(tv, ours)
        rows.append(Row(op, layout, n, round(tv_ms, 4), round(ours_ms, 4), round(tv_ms / ours_ms, 1), same, reps))
        print_row(rows[-1])
    return rows


def print_header() -> None:
    columns = f"| {'op':<18} | {'layout':<14} | {'N':>6} | {'torchvision ms':>14} | {'visionq ms':>10} "
    print(columns + f"| {'speedup':>7} | same |")
    print(f"|{'-' * 20}|{'-' * 16}|{'-' * 8}|{'-' * 16}|{'-' * 12}|{'-' * 9}|------|")


def print_row(r: Row) -> None:
    same = "yes" if r.same_output else "NO"
    print(
        f"| {r.op:<18} | {r.layout:<14} | {r.boxes:>6} | {r.torchvision_ms:>14.3f} | {r.visionq_ms:>10.3f} "
        f"| {r.speedup:>6.1f}x | {same:<4} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for both (default 1)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "nms.json"), help="JSON output path")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, {args.threads} thread(s), "
        f"{platform.processor() or platform.machine()}, IoU threshold {IOU_THRESHOLD}"
    )
    print_header()
    rows = run_cases()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": args.threads}
    out.write_text(json.dumps({**meta, "iou_threshold": IOU_THRESHOLD, "rows": [asdict(r) for r in rows]}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
