"""Super-resolution: input against output (side by side, comparison slider, zoomed crop), scale, model, download."""

from __future__ import annotations

from typing import Any

import streamlit as st

from frontend.client import Job
from frontend.imaging import decode_image, split_view, zoomed_pair
from frontend.inputs import input_picker
from frontend.jobs import JobRequest, JobRunner
from frontend.page import model_labels, require_task, setup_page
from frontend.params import field_specs, invalid_fields, param_widget, params_form
from frontend.results import show_raw_json, show_timings

TASK = "super_resolution"
#: The artifact holding the upscaled image (models/super_resolution/schema.py).
ARTIFACT = "image"
MAIN_FIELDS = ("model", "scale")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def comparison(input_data: bytes, output_data: bytes) -> None:
    low, high = decode_image(input_data), decode_image(output_data)
    side, slider, crop = st.tabs(["Side by side", "Comparison slider", "Zoomed crop"])
    with side:
        left, right = st.columns(2)
        left.image(input_data, caption=f"Input {low.width}×{low.height}", width="stretch")
        right.image(output_data, caption=f"Output {high.width}×{high.height}", width="stretch")
    with slider:
        split = st.slider("Split (% from the left)", 0, 100, 50, key="sr:split")
        st.image(
            split_view(low, high, split / 100),
            caption="Left of the line: the input upscaled bicubically · right: the model's output",
            width="stretch",
        )
    with crop:
        cx, cy, zoom = st.columns(3)
        center = (
            cx.slider("Crop centre x (%)", 0, 100, 50, key="sr:cx") / 100,
            cy.slider("Crop centre y (%)", 0, 100, 50, key="sr:cy") / 100,
        )
        factor = zoom.slider("Zoom", 1, 8, 4, key="sr:zoom")
        crop_low, crop_high = zoomed_pair(low, high, center, factor)
        left, right = st.columns(2)
        left.image(crop_low, caption="Input (nearest-neighbour)", width="stretch")
        right.image(crop_high, caption="Output", width="stretch")


def summary(job: Job, input_name: str, data: bytes, media_type: str) -> None:
    result: dict[str, Any] = job.result
    facts = {"scale": f"×{result['scale']}"}
    if "width" in result and "height" in result:
        facts["output"] = f"{result['width']}×{result['height']}"
    if "tiles" in result:
        facts["tiles"] = str(result["tiles"])
    for column, (name, value) in zip(st.columns(3), facts.items(), strict=False):
        column.metric(name, value)
    details = [f"model **{result['model']}**"]
    details += [str(result[k]) for k in ("device", "precision") if k in result]
    if "tile" in result:
        overlap = f", overlap {result['tile_overlap']} px" if "tile_overlap" in result else ""
        details.append(f"tiles of {result['tile']} px{overlap}")
    if result.get("weights"):
        details.append(f"weights: {result['weights']}")
    st.caption(" · ".join(details))
    if result.get("note"):
        st.info(result["note"])
    stem = input_name.rsplit(".", 1)[0]
    extension = _EXTENSIONS.get(media_type, "png")
    st.download_button(
        "Download the upscaled image",
        data,
        file_name=f"{stem}_x{result['scale']}.{extension}",
        mime=media_type,
        icon=":material/download:",
    )
    show_timings(job)
    show_raw_json(job)


def main() -> None:
    client = setup_page("Super-resolution", ":material/zoom_in:")
    task = require_task(client, TASK)
    schema = task["params_schema"]
    inputs, output = st.columns([2, 3], gap="large")
    with inputs:
        st.subheader("Input")
        upload = input_picker(TASK, task["input_kind"], key="sr")
        st.subheader("Parameters")
        params = {"model": param_widget(schema, "model", key="sr", widget="select", format_option=model_labels(task))}
        scales = field_specs(schema)["scale"].options
        params["scale"] = param_widget(
            schema, "scale", key="sr", widget="radio", format_option={s: f"×{s}" for s in scales}
        )
        with st.expander("More parameters (tiling, output format)"):
            params |= params_form(schema, key="sr", exclude=MAIN_FIELDS)
        run = st.button("Upscale", type="primary", disabled=upload is None or bool(invalid_fields(params)))
    runner = JobRunner(client, "sr")
    with output:
        st.subheader("Result")
        if run and upload is not None:
            runner.submit([JobRequest(TASK, params, upload)])
        outcome = runner.wait()
        if outcome is not None and outcome.requests[0].upload is not None:
            job, source = outcome.jobs[0], outcome.requests[0].upload
            data = outcome.artifacts[0][ARTIFACT]
            comparison(source.data, data)
            summary(job, source.name, data, job.artifact_media_types()[ARTIFACT])
        elif not runner.running and not runner.errors:
            st.info("Pick an image (upload or sample), then press **Upscale**.")


main()
