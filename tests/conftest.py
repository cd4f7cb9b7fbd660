"""Shared fixtures: a real redis-server, real gateway (uvicorn) and worker processes, each test on its own namespace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.embedded_redis import EmbeddedRedis, free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
NOOP = "tests.fixtures.tasks:NOOP_SPEC"
POSE = "tests.fixtures.tasks:POSE_SPEC"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
def namespace() -> str:
    """A fresh key prefix per test: every test starts from an empty queue without flushing a shared server."""
    return f"test-{uuid.uuid4().hex[:10]}"


@dataclass
class Stack:
    """Processes a test started; all are stopped at teardown."""

    redis_url: str
    namespace: str
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _env(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONQ_")}
        env.update(
            REDIS_URL=self.redis_url,
            VISIONQ_NAMESPACE=self.namespace,
            VISIONQ_EXTRA_TASKS=json.dumps([NOOP, POSE]),
            PYTHONPATH=str(ROOT),
        )
        env.update(self.env)
        env.update(overrides)
        return env

    def start_gateway(self, **overrides: str) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "app.cli", "gateway", "--port", str(port)]
        proc = subprocess.Popen(cmd, env=self._env(overrides), cwd=ROOT)
        self.processes.append(proc)
        url = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _get_ok(f"{url}/healthz"), 30, f"gateway on {url}", proc)
        return url

    def start_worker(self, tasks: str = "noop", wait: bool = True, **overrides: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "app.cli", "worker", "--tasks", tasks, "--device", "cpu"]
        env = self._env({"VISIONQ_HEARTBEAT_INTERVAL_S": "0.5", **overrides})
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
        self.processes.append(proc)
        if wait:
            self.wait_for_worker(proc, tasks.split(","))
        return proc

    def wait_for_worker(self, proc: subprocess.Popen[bytes], tasks: list[str], timeout_s: float = 120) -> None:
        import redis

        r = redis.Redis.from_url(self.redis_url)

        def registered() -> bool:
            members = [[m.decode() for m in r.zrange(f"{self.namespace}:workers:{t}", 0, -1)] for t in tasks]
            return all(any(f"-{proc.pid}-" in m for m in ms) for ms in members)

        _wait_until(registered, timeout_s, f"worker pid {proc.pid} heartbeat", proc)
        r.close()

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with code {proc.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"{what}: not ready after {timeout_s} s")


@pytest.fixture
def stack(redis_url: str, namespace: str) -> Iterator[Stack]:
    s = Stack(redis_url, namespace)
    yield s
    s.stop_all()


wait_until = _wait_until
