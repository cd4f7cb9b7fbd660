"""House rules a reader relies on: the gateway never imports torch, schemas are light, CI runs the README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gateway_and_every_task_schema_import_without_torch() -> None:
    code = (
        "import sys; from app.config import GatewaySettings; from app.main import create_app; "
        "app = create_app(GatewaySettings(redis_url='redis://127.0.0.1:1/0')); app.openapi(); "
        "from models import registry; specs = registry.all_specs(); "
        "heavy = sorted(m for m in ('torch', 'torchvision', 'kernels') if m in sys.modules); "
        "print(len(specs), heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    count, heavy = out.stdout.strip().split(" ", 1)
    assert heavy == "[]", f"the gateway imported {heavy}"
    assert int(count) >= 1


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(make \w+)$", readme, flags=re.MULTILINE)
    assert commands[:2] == ["make up", "make test"], commands
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_env_table_matches_the_settings() -> None:
    from app.envdoc import env_table

    assert env_table() in (ROOT / "README.md").read_text(), "regenerate with: python -m app.envdoc"
