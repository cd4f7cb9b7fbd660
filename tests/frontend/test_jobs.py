"""Long jobs: submitted async, a progress bar fed by the job's progress, Cancel, and readable failures.

Driven through `JobRunner` on the test-only `noop` task, whose params make a job slow, report progress or fail.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Progress

import frontend.jobs
from tests.frontend.live import LiveStack


def runner_script(params: "dict[str, Any]") -> None:  # noqa: UP037 - AppTest runs this body alone, without our imports
    import io

    import streamlit as st
    from PIL import Image

    from frontend.client import Upload
    from frontend.jobs import JobRequest, JobRunner
    from frontend.page import get_client

    runner = JobRunner(get_client(), "noop")
    if st.button("Run"):
        png = io.BytesIO()
        Image.new("RGB", (8, 8)).save(png, format="PNG")
        runner.submit([JobRequest("noop", params, Upload("input.png", png.getvalue(), "image/png"))])
    outcome = runner.wait()
    if outcome is not None:
        st.json(outcome.jobs[0].result)


def _runner(params: dict[str, Any]) -> AppTest:
    at = AppTest.from_function(runner_script, kwargs={"params": params}, default_timeout=30)
    at.run()
    return at


def test_a_finished_job_replaces_the_bar_with_its_result(app_env: LiveStack) -> None:
    at = _runner({"sleep_ms": 300, "progress_steps": 3})
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert not at.get("progress") and not [b for b in at.button if b.label == "Cancel"]
    assert '"batch_size"' in at.json[0].value
    at.run()  # any later rerun shows the same result without running the job again
    assert "noop:pending" not in at.session_state and at.json


def test_a_job_that_fails_in_the_model_is_a_readable_error(app_env: LiveStack) -> None:
    at = _runner({"fail": "model"})
    at.button[0].click().run()
    assert not at.exception
    (error,) = at.error
    assert "asked to fail in forward" in error.value and "inference_failed" in error.value
    at.run()
    assert len(at.error) == 1, "the error stays until the next run"


# Last in this module: the cancelled job keeps the noop worker asleep for a few seconds more.
def test_a_slow_job_shows_its_progress_and_can_be_cancelled(
    app_env: LiveStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frontend.jobs, "MAX_WAIT_S", 1.5)  # stop polling early, as a 10-minute job would
    at = _runner({"sleep_ms": 4000, "progress_steps": 20})
    at.button[0].click().run()
    assert not at.exception
    (progress,) = at.get("progress")
    assert isinstance(progress, Progress)
    assert 0 < progress.value < 100, "the bar (in percent) follows the progress the worker reports"
    assert progress.proto.text.startswith("running ")
    assert "Still running after 2 s" in at.warning[0].value
    (job_id,) = at.session_state["noop:pending"][1]
    cancel = next(b for b in at.button if b.label == "Cancel")
    cancel.click().run()
    assert not at.exception and at.warning[0].value == "Cancelled."
    job = httpx.get(f"{app_env.url}/jobs/{job_id}", headers={"X-API-Key": app_env.api_key}, timeout=5).json()
    assert job["status"] == "cancelled"
    assert not at.get("progress")
