"""Detection: boxes and labels drawn on the image, a table of detections, and two NMS methods side by side."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from frontend.client import Job, Upload
from frontend.inputs import SAMPLES_DIR, input_picker
from frontend.jobs import JobRequest, JobRunner
from frontend.page import model_labels, require_task, setup_page
from frontend.params import invalid_fields, param_widget, params_form
from frontend.results import show_artifact, show_raw_json, show_timings

TASK = "detection"
#: The fields laid out by hand; every other field of the schema goes under "More parameters".
MAIN_FIELDS = ("model", "nms_method", "conf_thres", "iou_thres")
#: Labels for the schema's fields (pydantic's default titles read "Iou Thres").
LABELS = {
    "model": "Model",
    "nms_method": "NMS method",
    "conf_thres": "Confidence threshold",
    "iou_thres": "IoU threshold",
    "soft_sigma": "Soft-NMS sigma",
    "multi_label": "Multi-label (every class over the threshold)",
    "max_det": "Max detections",
    "classes": "Only these label ids",
    "box_format": "Box format",
}
#: What the right-hand side of the comparison starts with: Soft-NMS keeps boxes hard NMS drops.
COMPARE_WITH = "soft"


def detection_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    names = ("x", "y", "w", "h") if result.get("box_format") == "xywh" else ("x1", "y1", "x2", "y2")
    return [
        {
            "label": d["label"],
            "label id": d["label_id"],
            "score": round(d["score"], 3),
            **{n: round(v, 1) for n, v in zip(names, d["box"], strict=True)},
        }
        for d in result["detections"]
    ]


def ground_truth_caption(upload: Upload) -> str | None:
    """How many objects a bundled sample really has (its samples.json), to compare with what was found."""
    truth_file = SAMPLES_DIR / TASK / "samples.json"
    if not truth_file.is_file():
        return None
    objects = json.loads(truth_file.read_text()).get(upload.name)
    if objects is None:
        return None
    counts: dict[str, int] = {}
    for obj in objects:
        counts[obj["label"]] = counts.get(obj["label"], 0) + 1
    return f"Ground truth of this sample: {len(objects)} objects ({', '.join(f'{n} {k}' for k, n in counts.items())})"


def show_detection(job: Job, artifacts: dict[str, bytes], upload: Upload | None) -> None:
    result = job.result
    if result.get("note"):
        st.info(result["note"])
    caption = f"{len(result['detections'])} detections · model {result['model']} · NMS {result['nms_method']}"
    if "annotated" in artifacts:
        show_artifact(artifacts["annotated"], "image/png", caption=caption)
    else:
        st.warning("The worker returned no annotated image.")
    truth = ground_truth_caption(upload) if upload is not None else None
    if truth:
        st.caption(truth)
    if result["detections"]:
        st.dataframe(detection_rows(result), hide_index=True, width="stretch")
    else:
        st.info("No detection above the confidence threshold; try a lower one.")
    show_timings(job)
    show_raw_json(job)


def compare_panel(runner: JobRunner, schema: dict[str, Any], params: dict[str, Any], upload: Upload | None) -> None:
    st.subheader("Compare two NMS methods")
    st.caption("The same image, model and thresholds; only the NMS method differs.")
    left, right, button = st.columns([2, 2, 1], vertical_alignment="bottom")
    with left:
        method_a = param_widget(schema, "nms_method", key="det-cmp-a", label="Left", widget="select")
    with right:
        method_b = param_widget(
            schema, "nms_method", key="det-cmp-b", label="Right", widget="select", default=COMPARE_WITH
        )
    with button:
        compare = st.button("Compare", disabled=upload is None, width="stretch")
    if compare and upload is not None:
        runner.submit(
            [
                JobRequest(TASK, {**params, "nms_method": method}, upload, label=f"{side}: {method}")
                for side, method in (("left", method_a), ("right", method_b))
            ]
        )
    outcome = runner.wait()
    if outcome is None:
        return
    for column, job, artifacts, request in zip(
        st.columns(2), outcome.jobs, outcome.artifacts, outcome.requests, strict=True
    ):
        with column:
            detections = job.result["detections"]
            show_artifact(
                artifacts["annotated"], "image/png", caption=f"{request.label} — {len(detections)} detections"
            )
            st.caption(f"NMS took {job.result['timings_ms']['nms']:.2f} ms")
            if detections:
                st.dataframe(detection_rows(job.result), hide_index=True, height=200)
    show_raw_json(outcome.jobs)


def main() -> None:
    client = setup_page("Detection", ":material/center_focus_strong:")
    task = require_task(client, TASK)
    schema = task["params_schema"]
    inputs, output = st.columns([2, 3], gap="large")
    with inputs:
        st.subheader("Input")
        upload = input_picker(TASK, task["input_kind"], key="det")
        st.subheader("Parameters")
        params = {
            "model": param_widget(
                schema, "model", key="det", widget="select", label=LABELS["model"], format_option=model_labels(task)
            )
        }
        params["nms_method"] = param_widget(
            schema, "nms_method", key="det", widget="select", label=LABELS["nms_method"]
        )
        params["conf_thres"] = param_widget(schema, "conf_thres", key="det", label=LABELS["conf_thres"])
        params["iou_thres"] = param_widget(schema, "iou_thres", key="det", label=LABELS["iou_thres"])
        with st.expander("More parameters"):
            params |= params_form(schema, key="det", exclude=MAIN_FIELDS, labels=LABELS)
        bad = invalid_fields(params)
        run = st.button("Run detection", type="primary", disabled=upload is None or bool(bad))
    runner = JobRunner(client, "det")
    with output:
        st.subheader("Result")
        if run and upload is not None:
            runner.submit([JobRequest(TASK, params, upload)])
        outcome = runner.wait()
        if outcome is not None:
            show_detection(outcome.jobs[0], outcome.artifacts[0], outcome.requests[0].upload)
        elif not runner.running and not runner.errors:
            st.info("Pick an image (upload or sample), then press **Run detection**.")
    st.divider()
    compare_panel(JobRunner(client, "det-cmp"), schema, params, upload)


main()
