"""Gateway overhead: requests/s and p50/p99 latency through the full path vs a direct FastAPI handler.

Full path: HTTP -> gateway (validation, Redis enqueue) -> worker (no-op test task) -> gateway -> HTTP, with a
~1 KB PNG upload. Baseline: the same upload handled inside a bare FastAPI handler. Both run under uvicorn in one
run, side by side, loaded by wrk (C, one thread, little CPU) at each concurrency.

    python bench/gateway.py [--duration-s 10] [--concurrency 1 16 64]

Prints a table and writes bench/results/gateway.json. Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded_redis import free_port, start_redis  # noqa: E402  (after the path fix above)


def one_kb_png() -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (17, 17, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def run_wrk(url: str, concurrency: int, duration_s: int, env: dict[str, str]) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "wrk_upload.lua"),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    stats = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-s", type=int, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "gateway.json"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")

    redis_server = start_redis()
    image = Path(tempfile.mkdtemp()) / "one_kb.png"
    image.write_bytes(one_kb_png())
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "VISIONQ_NAMESPACE": "bench",
        "VISIONQ_EXTRA_TASKS": '["tests.fixtures.tasks:NOOP_SPEC"]',
        "PYTHONPATH": str(ROOT),
        "VISIONQ_MAX_QUEUE_LENGTH": "100000",
        "VISIONQ_BENCH_FILE": str(image),
        "VISIONQ_BENCH_TASK": "noop",
    }
    gw_port, direct_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, "-m", "app.cli", "gateway", "--port", str(gw_port)], env=env, cwd=ROOT),
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--tasks", "noop", "--device", "cpu"],
            env=env,
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.direct_app:app",
                "--port",
                str(direct_port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        ),
    ]
    rows = []
    try:
        gateway, direct = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{direct_port}"
        wait_http(f"{gateway}/healthz")
        wait_http(f"{direct}/docs")
        deadline = time.monotonic() + 60
        while httpx.get(f"{gateway}/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        for target in (gateway, direct):  # warm-up: connection pools, script cache, JIT-free but lazy imports
            run_wrk(f"{target}/predict", 4, 2, env)
        for concurrency in args.concurrency:
            full = run_wrk(f"{gateway}/predict", concurrency, args.duration_s, env)
            base = run_wrk(f"{direct}/predict", concurrency, args.duration_s, env)
            rows.append(
                {
                    "concurrency": concurrency,
                    "full_path": full,
                    "direct": base,
                    "p50_overhead_ms": (full["p50_us"] - base["p50_us"]) / 1000,
                }
            )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        redis_server.stop()

    print(f"gateway benchmark: {len(image.read_bytes())}-byte PNG, {args.duration_s} s per point, wrk -t1")
    print(
        f"{'conc':>5} | {'full req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} | "
        f"{'direct req/s':>12} {'p50 ms':>8} {'p99 ms':>8} | {'p50 overhead ms':>15}"
    )
    for row in rows:
        f, d = row["full_path"], row["direct"]
        print(
            f"{row['concurrency']:>5} | {f['rps']:>10.0f} {f['p50_us'] / 1000:>8.2f} {f['p99_us'] / 1000:>8.2f} "
            f"{f['errors']:>6} | {d['rps']:>12.0f} {d['p50_us'] / 1000:>8.2f} {d['p99_us'] / 1000:>8.2f} | "
            f"{row['p50_overhead_ms']:>15.2f}"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"image_bytes": len(image.read_bytes()), "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
