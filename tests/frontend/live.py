"""A live stack for frontend tests: real Redis, a gateway that wants an API key, one worker for the tasks that
have pages and one for the test-only `noop` task (slow jobs with progress, for the progress bar and Cancel).
Shared by tests/frontend (AppTest) and tests/browser (Chromium)."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.conftest import NOOP, ROOT, Stack

FRONTEND = ROOT / "frontend"
PAGES = FRONTEND / "pages"
SAMPLES = FRONTEND / "samples"
API_KEY = "frontend-test-key"
#: The tasks with a page, by spec path. Listed in VISIONQ_EXTRA_TASKS too, so the stack serves them whether or
#: not models/registry.py BUILTIN_SPECS has them yet (registering a spec twice replaces it with itself).
PAGE_TASKS = {
    "detection": "models.detection.schema:SPEC",
    "super_resolution": "models.super_resolution.schema:SPEC",
}


def task_exists(task: str) -> bool:
    """Whether the task's package is in the tree (a page test skips, saying so, while it is not)."""
    package = PAGE_TASKS[task].partition(":")[0].rsplit(".", 1)[0]
    return importlib.util.find_spec(package) is not None


@dataclass(frozen=True)
class LiveStack:
    url: str
    api_key: str
    tasks: tuple[str, ...]

    def params_schema(self, task: str) -> dict[str, object]:
        tasks = httpx.get(f"{self.url}/models", headers={"X-API-Key": self.api_key}, timeout=10).json()["tasks"]
        schema: dict[str, object] = next(t for t in tasks if t["name"] == task)["params_schema"]
        return schema


@contextmanager
def live_stack(redis_url: str, *, with_noop: bool = True) -> Iterator[LiveStack]:
    tasks = tuple(t for t in PAGE_TASKS if task_exists(t))
    stack = Stack(redis_url, f"frontend-{uuid.uuid4().hex[:8]}")
    stack.env.update(
        VISIONQ_EXTRA_TASKS=json.dumps([*([NOOP] if with_noop else []), *(PAGE_TASKS[t] for t in tasks)]),
        VISIONQ_API_KEY=API_KEY,
    )
    workers = {",".join(tasks): tasks} if tasks else {}
    if with_noop:
        workers["noop"] = ("noop",)  # its own process: a slow noop job never delays a page's job
    try:
        started = [(stack.start_worker(tasks=name, wait=False), served) for name, served in workers.items()]
        url = stack.start_gateway()  # while the workers load their models
        for proc, served in started:
            stack.wait_for_worker(proc, list(served))
        yield LiveStack(url, API_KEY, tasks)
    finally:
        stack.stop_all()
