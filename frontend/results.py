"""How every page shows errors, timings, raw JSON and artifacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from frontend.client import ApiError, Job

#: Timing metrics per row: more get truncated in a half-width column.
METRICS_PER_ROW = 4

#: What the user can do about each error code of the gateway (app/errors.py) or of the client.
_HINTS = {
    "gateway_unreachable": "Start the stack with `visionq up`, or point VISIONQ_API_URL at a running gateway.",
    "gateway_timeout": "The gateway is overloaded or stuck; try again in a moment.",
    "unauthorized": "The gateway needs an API key: set VISIONQ_API_KEY for the frontend to the gateway's key.",
    "queue_full": "Too many jobs are waiting for this task; try again shortly.",
    "no_worker": "No worker serves this task; start one with `visionq worker --tasks <task>`.",
    "redis_unavailable": "The gateway cannot reach Redis; it recovers by itself once Redis is back.",
    "unsupported_media": "The file is not a format this task reads; try another file or a sample.",
    "payload_too_large": "The file is too large for the gateway; use a smaller one.",
    "image_too_large": "The image has too many pixels; use a smaller one.",
    "corrupt_image": "The file looks damaged; try another file or a sample.",
    "empty_file": "The file is empty.",
    "invalid_params": "A parameter is out of range for this task.",
    "inference_failed": "The model failed on this input; the worker keeps serving other jobs.",
    "abandoned": "The job was retried too many times after workers died; see the worker logs.",
    "cancelled": "The job was cancelled.",
}


def show_error(error: ApiError) -> None:
    """A readable error box: what happened, what to do, and the details behind an expander. Never a traceback."""
    status = f" (HTTP {error.status})" if error.status else ""
    hint = _HINTS.get(error.code, "")
    text = f"**{error.message}**\n\n`{error.code}`{status}"
    if hint:
        text += f" — {hint}"
    if error.retry_after_s:
        text += f" Retry after {error.retry_after_s:g} s."
    st.error(text, icon=":material/error:")
    if error.details:
        with st.expander("Error details"):
            st.json(error.details)


def show_timings(job: Job, stages_ms: Mapping[str, float] | None = None) -> None:
    """Queue wait and run time of the job, then each stage the task reports (its result's `timings_ms`)."""
    stages = dict(stages_ms if stages_ms is not None else job.result.get("timings_ms") or {})
    values: dict[str, float | None] = {"queue wait": job.queue_wait_ms, "worker run": job.run_ms, **stages}
    shown = [(name, value) for name, value in values.items() if value is not None]
    st.caption("Timings")
    for row in range(0, len(shown), METRICS_PER_ROW):
        for column, (name, value) in zip(st.columns(METRICS_PER_ROW), shown[row : row + METRICS_PER_ROW], strict=False):
            column.metric(f"{name} (ms)", f"{value:,.1f}")


def show_raw_json(jobs: Job | Sequence[Job], label: str = "Raw JSON") -> None:
    with st.expander(label):
        items = [jobs] if isinstance(jobs, Job) else list(jobs)
        for job in items:
            st.json(job.raw, expanded=2)


def show_artifact(data: bytes, media_type: str, *, caption: str | None = None, name: str = "artifact") -> None:
    """Render an artifact by its media type: images and GIFs inline, videos in a player, anything else as a file."""
    if media_type.startswith("image/"):
        st.image(data, caption=caption, width="stretch")
    elif media_type.startswith("video/"):
        st.video(data, format=media_type)
        if caption:
            st.caption(caption)
    else:
        st.download_button(f"Download {name}", data, file_name=name, mime=media_type)
