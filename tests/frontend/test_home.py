"""The Home page against a live gateway and worker: readiness, workers and devices, queues, models, latency."""

from __future__ import annotations

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from app.embedded_redis import free_port
from tests.frontend.live import FRONTEND, SAMPLES, LiveStack


def _home() -> AppTest:
    at = AppTest.from_file(str(FRONTEND / "Home.py"), default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _detect(live: LiveStack) -> None:
    image = (SAMPLES / "detection" / "sample_3.png").read_bytes()
    resp = httpx.post(
        f"{live.url}/predict",
        data={"task": "detection", "params": "{}"},
        files={"file": ("sample_3.png", image, "image/png")},
        headers={"X-API-Key": live.api_key},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text


def test_home_shows_readiness_workers_devices_queues_and_models(app_env: LiveStack) -> None:
    ready = httpx.get(f"{app_env.url}/readyz", timeout=5).json()
    at = _home()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gateway"] == "up" and metrics["Redis"] == "reachable"
    assert metrics["Ready"] == ("yes" if ready["ready"] else "no")
    tasks, workers, models = (df.value for df in at.dataframe[:3])
    served = tasks.set_index("task").loc[list(app_env.tasks)]
    assert (served["live workers"] == 1).all() and (served["devices"] == "cpu").all()
    assert (served["queued or running"] == 0).all()
    assert sorted(workers["tasks"]) == sorted([", ".join(app_env.tasks), "noop"]), "one row per worker process"
    assert (workers["device"] == "cpu").all()
    demo = models[(models["task"] == "detection") & (models["model"] == "demo")].iloc[0]
    assert demo["default"] == "✓" and demo["weights"].startswith("demo")
    assert models["weights"].str.startswith("missing").any(), "torchvision detectors without checkpoints"


def test_home_latency_table_and_charts_follow_requests(app_env: LiveStack) -> None:
    _detect(app_env)
    at = _home()
    latency = at.dataframe[3].value.set_index("task")
    assert latency.loc["detection", "requests"] >= 1
    assert float(latency.loc["detection", "mean (ms)"].replace(",", "")) > 0
    assert len(at.get("vega_lite_chart")) == 1, "the latency histogram"
    _detect(app_env)
    next(b for b in at.button if b.label == "Refresh").click().run()  # a second snapshot, a request in between
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 2, "the recent-latency line appears from the second snapshot"


def test_wrong_api_key_is_a_readable_message(app_env: LiveStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONQ_API_KEY", "not-the-key-0123456789")
    at = _home()
    assert at.metric[0].value == "up", "health checks need no key"
    (error,) = at.error
    assert "missing or wrong X-API-Key" in error.value and "VISIONQ_API_KEY" in error.value


def test_unreachable_gateway_is_a_readable_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONQ_API_URL", f"http://127.0.0.1:{free_port()}")
    at = _home()
    (error,) = at.error
    assert "cannot reach the gateway" in error.value and "visionq up" in error.value
    assert not at.dataframe
