"""Submit jobs asynchronously, show their progress, keep their results across Streamlit reruns.

    runner = JobRunner(client, key="detection")
    if st.button("Run"):
        runner.submit([JobRequest("detection", params, upload)])
    outcome = runner.wait()          # progress bar + Cancel while jobs run; the last finished outcome after

A rerun while jobs are in flight (a slider moved, Cancel clicked) resumes polling instead of losing them, and a
finished outcome, artifacts included, stays in the session until the next submit, so widgets that only change
how a result is shown never re-run the model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from frontend.client import ApiClient, ApiError, Job, Upload
from frontend.results import show_error

#: Longest the page polls one submission before it stops and says the job is still running.
MAX_WAIT_S = 600.0
#: Polling starts fast (most jobs here take well under a second) and backs off to this interval.
MAX_POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class JobRequest:
    task: str
    params: dict[str, Any]
    upload: Upload | None = None
    #: Shown beside the progress bar and the result when a page runs several jobs (e.g. two NMS methods).
    label: str = ""


@dataclass
class Outcome:
    """Finished jobs of one submission, in request order, with their artifacts' bytes."""

    requests: list[JobRequest]
    jobs: list[Job]
    artifacts: list[dict[str, bytes]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(job.status == "succeeded" for job in self.jobs)


class JobRunner:
    """One page's (or one panel's) jobs; `key` keeps several runners on a page apart."""

    def __init__(self, client: ApiClient, key: str) -> None:
        self.client = client
        self._pending = f"{key}:pending"
        self._outcome = f"{key}:outcome"
        self._errors = f"{key}:errors"
        self._cancel = f"{key}:cancel"

    @property
    def outcome(self) -> Outcome | None:
        outcome: Outcome | None = st.session_state.get(self._outcome)
        return outcome

    @property
    def running(self) -> bool:
        return self._pending in st.session_state

    @property
    def errors(self) -> list[ApiError]:
        errors: list[ApiError] = st.session_state.get(self._errors, [])
        return errors

    def submit(self, requests: Sequence[JobRequest]) -> bool:
        """Queue every request (async=true); False if the gateway refused one (wait() shows why)."""
        self.clear()
        jobs = []
        for request in requests:
            try:
                jobs.append(self.client.submit(request.task, request.params, request.upload))
            except ApiError as exc:
                for job in jobs:
                    self._try_cancel(job.id)
                st.session_state[self._errors] = [exc]  # shown by wait(), on this run and the next ones
                return False
        st.session_state[self._pending] = (list(requests), [job.id for job in jobs], time.monotonic())
        return True

    def clear(self) -> None:
        for name in (self._pending, self._outcome, self._errors):
            st.session_state.pop(name, None)

    def wait(self) -> Outcome | None:
        """Poll the jobs in flight with a progress bar; returns the last outcome whose jobs all succeeded."""
        if self._pending in st.session_state:
            self._poll()
        else:
            for error in st.session_state.get(self._errors, []):
                show_error(error)
        outcome = self.outcome
        return outcome if outcome is not None and outcome.succeeded else None

    def _poll(self) -> None:
        requests, ids, started = st.session_state[self._pending]
        panel = st.empty()  # the progress bar and Cancel button, removed once the jobs end
        with panel.container():
            cancel = st.button("Cancel", key=self._cancel, icon=":material/cancel:")
            bar = st.progress(0.0, text="Submitted…")
        if cancel:
            answers = [self._try_cancel(job_id) for job_id in ids]
            if any(job is None or job.status == "cancelled" for job in answers):
                st.session_state.pop(self._pending)
                panel.empty()
                st.warning("Cancelled.")
                return
            # Every job had finished before the click reached the gateway: show their results instead.
        interval = 0.05
        try:
            while True:
                jobs = [self.client.job(job_id) for job_id in ids]
                bar.progress(_overall(jobs), text=_progress_text(jobs, requests))
                if all(job.is_final for job in jobs):
                    break
                if time.monotonic() - started > MAX_WAIT_S:
                    st.warning(
                        f"Still running after {MAX_WAIT_S:.0f} s; the page picks it up again when you interact, "
                        "or press Cancel."
                    )
                    return
                time.sleep(interval)
                interval = min(interval * 1.5, MAX_POLL_INTERVAL_S)
            artifacts = [self._artifacts(job) if job.status == "succeeded" else {} for job in jobs]
        except ApiError as exc:
            st.session_state.pop(self._pending)
            st.session_state[self._errors] = [exc]
            panel.empty()
            show_error(exc)
            return
        st.session_state.pop(self._pending)
        panel.empty()
        st.session_state[self._outcome] = Outcome(requests, jobs, artifacts)
        errors = [_job_error(job, request) for job, request in zip(jobs, requests, strict=True) if job.error]
        st.session_state[self._errors] = errors
        for error in errors:
            show_error(error)

    def _artifacts(self, job: Job) -> dict[str, bytes]:
        return {name: self.client.artifact(url) for name, url in job.artifact_urls().items()}

    def _try_cancel(self, job_id: str) -> Job | None:
        try:
            return self.client.cancel(job_id)
        except ApiError:
            return None  # already gone or the gateway is down: nothing more the page can do about it


def _overall(jobs: Sequence[Job]) -> float:
    return sum(1.0 if job.is_final else job.progress for job in jobs) / max(len(jobs), 1)


def _progress_text(jobs: Sequence[Job], requests: Sequence[JobRequest]) -> str:
    parts = []
    for job, request in zip(jobs, requests, strict=True):
        state = {"queued": "waiting for a worker", "running": f"running {job.progress:.0%}"}.get(job.status, job.status)
        parts.append(f"{request.label}: {state}" if request.label else state)
    return " · ".join(parts)


def _job_error(job: Job, request: JobRequest) -> ApiError:
    error = job.error or {}
    code = str(error.get("code", job.status))
    message = str(error.get("message", f"the job ended {job.status}"))
    if request.label:
        message = f"{request.label}: {message}"
    return ApiError(code, message, details={**(error.get("details") or {}), "job_id": job.id})
