"""Worker start-up: pick the device, load each task's model once (with warm-up), then run the loop."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import uuid
from dataclasses import asdict
from typing import Any

import redis

from models import registry
from models.base import Task
from workers.config import WorkerSettings
from workers.loop import Worker

logger = logging.getLogger(__name__)


def resolve_device(name: str) -> str:
    """ "auto" -> "cuda:0" when torch sees a GPU, else "cpu"; an explicit cuda:N must exist."""
    if name == "cpu":
        return name
    import torch

    if name == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda:"):
        index = int(name.removeprefix("cuda:"))
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise RuntimeError(f"device {name} requested but torch sees {torch.cuda.device_count()} CUDA devices")
    return name


def load_tasks(settings: WorkerSettings, device: str) -> dict[str, Task[Any, Any, Any]]:
    specs = registry.load_specs(settings.extra_tasks)
    names = settings.tasks or sorted(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; known: {sorted(specs)}")
    tasks: dict[str, Task[Any, Any, Any]] = {}
    for name in names:
        t0 = time.perf_counter()
        task = registry.create_task(specs[name])
        task.load(device, settings.weights_dir)
        logger.info("task=%s event=loaded device=%s load_s=%.2f", name, device, time.perf_counter() - t0)
        tasks[name] = task
    return tasks


def run_worker(settings: WorkerSettings) -> None:
    if settings.redis_url is None:
        raise SystemExit("REDIS_URL is not set: `visionq up` starts a private Redis, or point REDIS_URL at one")
    if settings.torch_threads is not None:
        import torch

        torch.set_num_threads(settings.torch_threads)
    device = resolve_device(settings.device)
    tasks = load_tasks(settings, device)
    worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    info = {
        "id": worker_id,
        "device": device,
        "tasks": sorted(tasks),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "max_batch_size": settings.max_batch_size,
        "max_batch_delay_ms": settings.max_batch_delay_ms,
        # Only tasks that run torch import it; a torch-free worker reports None rather than paying for the import.
        "torch_threads": sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None,
        "models": {name: [asdict(m) for m in task.models()] for name, task in tasks.items()},
    }
    r = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    Worker(settings, tasks, r, worker_id, info).run()
