"""docker-compose.yml and the Dockerfile, checked with a real parser (no Docker engine runs here)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_is_valid_for_docker_compose() -> None:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is installed by scripts/setup.sh (apt-get install docker-compose)"
    subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], check=True, cwd=ROOT)
    profiles = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "--profile", "cpu", "config", "--services"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert set(profiles) == {"redis", "gateway", "worker", "worker-cpu", "frontend"}


def test_compose_services_are_wired_as_documented() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert "healthcheck" in redis and "ports" not in redis  # not published to the host
    for name in ("gateway", "worker", "worker-cpu"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    worker = services["worker"]
    assert worker["command"][:2] == ["visionq", "worker"] and "auto" in worker["command"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert services["frontend"]["environment"]["VISIONQ_API_URL"] == "http://gateway:8000"


def test_dockerfile_builds_with_the_readme_setup_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "bash scripts/setup.sh" in dockerfile and "bash scripts/setup.sh" in makefile
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith("AS build") and stages[1].endswith("AS runtime")
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "USER visionq" in runtime and "cuda-toolkit" not in runtime
