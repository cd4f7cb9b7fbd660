"""HTTP helpers for integration tests."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import httpx
from PIL import Image


def png_bytes(size: tuple[int, int] = (16, 16), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def predict(
    url: str,
    task: str = "noop",
    params: dict[str, Any] | None = None,
    data: bytes | None = None,
    *,
    async_: bool = False,
    timeout_s: float | None = None,
    filename: str = "input.png",
    content_type: str = "image/png",
    client: httpx.Client | None = None,
) -> httpx.Response:
    form: dict[str, str] = {"task": task, "params": json.dumps(params or {})}
    if async_:
        form["async"] = "true"
    if timeout_s is not None:
        form["timeout_s"] = str(timeout_s)
    files = {"file": (filename, png_bytes() if data is None else data, content_type)}
    if client is not None:
        return client.post(f"{url}/predict", data=form, files=files)
    with httpx.Client(timeout=120) as http:
        return http.post(f"{url}/predict", data=form, files=files)


def wait_for_job(url: str, job_id: str, statuses: tuple[str, ...], timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/jobs/{job_id}", timeout=5).json()
        if job.get("status") in statuses:
            return job
        time.sleep(0.05)
    raise TimeoutError(f"job {job_id} never reached {statuses}; last seen {job}")


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, matching every given label."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(f"no sample {name}{labels} in metrics")
