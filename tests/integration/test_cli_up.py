"""`visionq up`, the README's first command: embedded Redis, gateway, worker and frontend from one process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from app.embedded_redis import free_port
from tests.conftest import NOOP, ROOT, wait_until
from tests.integration.helpers import predict


@pytest.mark.slow
def test_up_runs_the_whole_stack_and_stops_it_on_ctrl_c(tmp_path: object) -> None:
    port, frontend_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and not k.startswith("VISIONQ_")}
    env.update(VISIONQ_EXTRA_TASKS=json.dumps([NOOP]), PYTHONPATH=str(ROOT))
    cmd = [
        sys.executable,
        "-m",
        "app.cli",
        "up",
        "--port",
        str(port),
        "--frontend-port",
        str(frontend_port),
        "--device",
        "cpu",
    ]  # no --tasks: the one worker serves every task; no --data-dir: the default, relative to the working directory
    # Own session, so that the Ctrl-C below can go to the whole process group, as a terminal sends it.
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 180, "visionq up: gateway ready with a worker for every task", proc)
        assert predict(url).status_code == 200
        frontend = f"http://127.0.0.1:{frontend_port}"
        wait_until(lambda: _ok(f"{frontend}/_stcore/health"), 90, "visionq up: frontend", proc)
        redis_dir = tmp_path / ".visionq" / "redis"  # type: ignore[operator]
        assert (redis_dir / "appendonly.aof").exists() or (redis_dir / "appendonlydir").exists()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: gateway, worker and frontend get it too; Redis must go last
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    redis_port = int(re.search(r"Redis: redis://127\.0\.0\.1:(\d+)/", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", redis_port)) != 0, "the embedded Redis outlived `visionq up`"
    assert f"API:      {url}" in out and f"Frontend: http://127.0.0.1:{frontend_port}" in out
    time.sleep(0.5)
    assert not _ok(f"{url}/healthz"), "the gateway outlived `visionq up`"


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
