"""`visionq weights fetch`: the command the Docker build runs to download official checkpoints."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from models.detection.weights import TORCHVISION_VARIANTS

VISIONQ = [sys.executable, "-m", "app.cli"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VISIONQ, *args], capture_output=True, text=True, timeout=120, env=env)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_present_checkpoints_are_listed_without_downloading(tmp_path: Path) -> None:
    for variant in TORCHVISION_VARIANTS.values():
        (tmp_path / variant.file_name).write_bytes(b"already here")
    done = _run("weights", "fetch", "detection", "--dest", str(tmp_path))
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)["files"]
    assert sorted(Path(f).name for f in files) == sorted(v.file_name for v in TORCHVISION_VARIANTS.values())
    assert all((tmp_path / Path(f).name).read_bytes() == b"already here" for f in files)


def test_no_network_gives_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    # A real failed connection: every HTTPS request goes through a proxy port that nothing listens on.
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {**os.environ, "https_proxy": proxy, "HTTPS_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""}
    done = _run("weights", "fetch", "detection", "--dest", str(tmp_path), env=env)
    assert done.returncode != 0
    assert "could not fetch the weights of 'detection'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_task_without_official_weights_is_named() -> None:
    done = _run("weights", "fetch", "super_resolution", "--dest", "/nonexistent")
    assert done.returncode != 0
    assert "no official weights to fetch for 'super_resolution'" in done.stderr
    assert "detection" in done.stderr
