"""A live stack plus the Streamlit frontend as a real server, and Debian's Chromium driven by Playwright.

`playwright install` cannot download browsers here: scripts/setup.sh installs Debian's `chromium` and the tests
launch it by path, with the flags that keep it from reaching the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from app.embedded_redis import EmbeddedRedis, free_port
from tests.conftest import ROOT, wait_until
from tests.frontend.live import FRONTEND, LiveStack, live_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots land here (git-ignored) for a person, or CI, to look at.
ARTIFACTS = ROOT / "tests" / "artifacts"
#: Tall enough that a whole page fits: Streamlit scrolls inside its own container, so full_page shots do not help.
VIEWPORT: ViewportSize = {"width": 1400, "height": 2200}


@pytest.fixture(scope="package")
def live(redis_server: EmbeddedRedis) -> Iterator[LiveStack]:
    with live_stack(redis_server.url, with_noop=False) as stack:
        yield stack


@pytest.fixture(scope="package")
def frontend_url(live: LiveStack) -> Iterator[str]:
    import httpx

    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(FRONTEND / "Home.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    env = {**_clean_env(), "VISIONQ_API_URL": live.url, "VISIONQ_API_KEY": live.api_key}
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(healthy, 60, f"streamlit on {url}", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VISIONQ_")}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (it apt-installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()
