"""Home / system page: health and readiness, workers and devices, queues, models and weights, recent latency.

Entry point of the frontend (`visionq frontend` runs `streamlit run frontend/Home.py`); each task has its page in
`frontend/pages/`.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from frontend.client import ApiClient, ApiError
from frontend.metrics import TaskMetrics, interval_job_ms, interval_latency_ms, parse_metrics, task_metrics
from frontend.page import setup_page
from frontend.results import show_error

#: Snapshots of /metrics kept for the recent-latency chart (one per refresh).
MAX_SNAPSHOTS = 60
AUTO_REFRESH_S = 5


def system_status(client: ApiClient) -> None:
    try:
        client.health()
        ready = client.readiness()
    except ApiError as exc:
        show_error(exc)
        st.stop()
    served = sum(1 for n in ready["tasks"].values() if n)
    cols = st.columns(4)
    cols[0].metric("Gateway", "up")
    cols[1].metric("Redis", "reachable" if ready["redis"] else "unreachable")
    cols[2].metric("Ready", "yes" if ready["ready"] else "no")
    cols[3].metric("Tasks with a live worker", f"{served} / {len(ready['tasks'])}")
    if ready["ready"]:
        st.success(f"Ready: every task has a live worker ({ready['message']}).")
    else:
        st.warning(f"Not ready: {ready['message']}.")


def tasks_and_workers(tasks: list[dict[str, Any]]) -> None:
    st.subheader("Tasks and queues")
    st.dataframe(
        [
            {
                "task": t["name"],
                "title": t["title"],
                "input": t["input_kind"],
                "queued or running": t["queue_length"],
                "live workers": len(t["workers"]),
                "devices": ", ".join(sorted({w["device"] for w in t["workers"]})) or "—",
            }
            for t in tasks
        ],
        hide_index=True,
    )
    workers: dict[str, dict[str, Any]] = {}
    for t in tasks:
        for w in t["workers"]:
            workers.setdefault(w["id"], w)
    st.subheader("Workers")
    if workers:
        st.dataframe(
            [
                {
                    "worker": w["id"],
                    "device": w["device"],
                    "tasks": ", ".join(w["tasks"]),
                    "host": w["host"],
                    "pid": w["pid"],
                    "last seen (s ago)": round(w["last_seen_s_ago"], 1),
                }
                for w in workers.values()
            ],
            hide_index=True,
        )
    else:
        st.info("No live worker. Start one with `visionq worker` (or `visionq up`).")
    st.subheader("Models and weights")
    models = [
        {
            "task": t["name"],
            "model": m["name"],
            "default": "✓" if m["default"] else "",
            "weights": m["weights"],
            "description": m["description"],
        }
        for t in tasks
        for m in t["models"]
    ]
    if models:
        st.dataframe(models, hide_index=True)
    else:
        st.info("Models are listed by live workers; none is running.")


def latency(client: ApiClient) -> None:
    st.subheader("Latency")
    try:
        current = task_metrics(parse_metrics(client.metrics()))
    except ApiError as exc:
        show_error(exc)
        return
    snapshots: list[tuple[float, dict[str, TaskMetrics]]] = st.session_state.setdefault("home:snapshots", [])
    snapshots.append((time.time(), current))
    del snapshots[:-MAX_SNAPSHOTS]
    st.dataframe([_latency_row(name, m) for name, m in sorted(current.items())], hide_index=True)
    recent = _recent_latency(snapshots)
    left, right = st.columns(2)
    with left:
        st.caption(
            "Mean latency between refreshes (ms): POST /predict as the gateway answers it (async requests, as this "
            "frontend sends, answer once queued), and the workers' queue wait + forward of the jobs"
        )
        if recent.empty:
            st.info("Requests and jobs show up here from the next refresh on.")
        else:
            st.line_chart(recent, x="time", y="latency (ms)", color="series", height=220)
    with right:
        st.caption("Requests per latency bucket since the gateway started")
        histogram = pd.DataFrame(
            [
                {"bucket": label, "requests": count, "task": name}
                for name, m in current.items()
                for label, count in m.latency_histogram()
            ]
        )
        if histogram.empty or histogram["requests"].sum() == 0:
            st.info("No request answered yet.")
        else:
            st.bar_chart(histogram, x="bucket", y="requests", color="task", height=220, sort=False)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _latency_row(name: str, m: TaskMetrics) -> dict[str, Any]:
    return {
        "task": name,
        "requests": int(m.requests),
        "mean (ms)": _ms(m.mean_latency_ms),
        "p50 (ms)": _ms(m.latency_quantile_ms(0.5)),
        "p95 (ms)": _ms(m.latency_quantile_ms(0.95)),
        "queue wait (ms)": _ms(m.mean_queue_wait_ms),
        "forward (ms)": _ms(m.mean_forward_ms),
        "batch size": "—" if m.mean_batch_size is None else f"{m.mean_batch_size:.2f}",
        "pending": int(m.pending),
    }


def _recent_latency(snapshots: list[tuple[float, dict[str, TaskMetrics]]]) -> pd.DataFrame:
    rows = []
    for (_, before), (at, after) in zip(snapshots, snapshots[1:], strict=False):
        for name, m in after.items():
            series = {
                f"{name}: POST /predict": interval_latency_ms(before.get(name), m),
                f"{name}: queue wait + forward": interval_job_ms(before.get(name), m),
            }
            for label, value in series.items():
                if value is not None:
                    rows.append({"time": pd.Timestamp(at, unit="s"), "latency (ms)": value, "series": label})
    return pd.DataFrame(rows, columns=["time", "latency (ms)", "series"])


def main() -> None:
    client = setup_page("visionq", ":material/hub:")
    st.caption(
        "A model server for vision tasks: the gateway queues jobs on Redis, batching workers run the models. "
        "Pick a task page in the sidebar."
    )
    left, right = st.columns([1, 3])
    left.button("Refresh", icon=":material/refresh:")
    auto = right.toggle(f"Auto-refresh latency every {AUTO_REFRESH_S} s", key="home:auto")
    system_status(client)
    try:
        tasks = client.models()
    except ApiError as exc:
        show_error(exc)
    else:
        tasks_and_workers(tasks)
    st.fragment(run_every=AUTO_REFRESH_S if auto else None)(latency)(client)


main()
