"""One live stack for every AppTest of this package (starting workers dominates the run time on 2 cores)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.embedded_redis import EmbeddedRedis
from tests.frontend.live import LiveStack, live_stack


@pytest.fixture(scope="package")
def live(redis_server: EmbeddedRedis) -> Iterator[LiveStack]:
    with live_stack(redis_server.url) as stack:
        yield stack


@pytest.fixture
def app_env(live: LiveStack, monkeypatch: pytest.MonkeyPatch) -> LiveStack:
    """Point the frontend (run in this process by AppTest) at the live gateway, with its API key."""
    monkeypatch.setenv("VISIONQ_API_URL", live.url)
    monkeypatch.setenv("VISIONQ_API_KEY", live.api_key)
    return live
