"""What every page does first: page config, the gateway client, and the task's description from GET /models.

A task page starts with

    client = setup_page("Detection", ":material/center_focus_strong:")
    task = require_task(client, "detection")     # stops the page with a readable message if it cannot run
    schema = task["params_schema"]
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from frontend.client import DEFAULT_API_URL, ApiClient, ApiError
from frontend.results import show_error


@st.cache_resource(show_spinner=False)
def _client(base_url: str, api_key: str | None) -> ApiClient:
    return ApiClient(base_url, api_key)


def get_client() -> ApiClient:
    """The client for VISIONQ_API_URL / VISIONQ_API_KEY, one per distinct setting (shared by sessions)."""
    return _client(os.environ.get("VISIONQ_API_URL") or DEFAULT_API_URL, os.environ.get("VISIONQ_API_KEY") or None)


def setup_page(title: str, icon: str) -> ApiClient:
    st.set_page_config(page_title=f"{title} · visionq", page_icon=icon, layout="wide")
    st.title(f"{icon} {title}")
    client = get_client()
    st.sidebar.caption(f"Gateway: `{client.base_url}`" + (" (with API key)" if client.api_key else ""))
    return client


def require_task(client: ApiClient, name: str) -> dict[str, Any]:
    """The task's GET /models entry; stops the page with a readable message if the gateway cannot serve it."""
    try:
        task = client.task(name)
    except ApiError as exc:
        show_error(exc)
        st.stop()
    if task is None:
        st.warning(
            f"The gateway does not know the task `{name}`: it is not registered in this deployment "
            "(models/registry.py BUILTIN_SPECS, or VISIONQ_EXTRA_TASKS)."
        )
        st.stop()
    st.caption(task["description"])
    if not task["workers"]:
        st.warning(
            f"No worker serves `{name}` right now: jobs will wait in the queue until one starts "
            f"(`visionq worker --tasks {name}`)."
        )
    else:
        devices = sorted({w["device"] for w in task["workers"]})
        st.sidebar.caption(f"`{name}`: {len(task['workers'])} worker(s) on {', '.join(devices)}")
    return task


def model_labels(task: dict[str, Any]) -> dict[str, str]:
    """Model name -> a label naming where its weights come from (for a model picker)."""
    labels = {}
    for model in task["models"]:
        source = str(model["weights"])
        status = "missing weights" if source.startswith("missing") else source
        labels[model["name"]] = f"{model['name']} — {status}"
    return labels
