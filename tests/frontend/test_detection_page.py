"""The Detection page with AppTest against a live gateway and detection worker (no mocks)."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from frontend.imaging import decode_image
from models.detection.dataset import CLASS_NAMES
from tests.frontend.live import PAGES, SAMPLES, LiveStack

SAMPLE = "sample_3.png"


def _page() -> AppTest:
    at = AppTest.from_file(str(PAGES / "1_Detection.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str) -> Button:
    return next(b for b in at.button if b.label == label)


def _run_sample(at: AppTest, **params: Any) -> None:
    at.button(key=f"det:sample:{SAMPLE}").click().run()
    for name, value in params.items():
        widget = at.slider(key=f"det:{name}") if isinstance(value, float) else at.selectbox(key=f"det:{name}")
        widget.set_value(value)
    _button(at, "Run detection").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_controls_follow_the_schema_the_gateway_serves(app_env: LiveStack) -> None:
    schema: Any = app_env.params_schema("detection")
    at = _page()
    props = schema["properties"]
    assert at.selectbox(key="det:nms_method").options == props["nms_method"]["enum"]
    assert at.selectbox(key="det:nms_method").value == props["nms_method"]["default"]
    conf = at.slider(key="det:conf_thres")
    assert (conf.min, conf.max, conf.value) == (props["conf_thres"]["minimum"], props["conf_thres"]["maximum"], 0.5)
    model = at.selectbox(key="det:model")
    assert model.options[0].startswith("demo — demo (trained here")
    assert any("missing weights" in option for option in model.options[1:])
    assert at.number_input(key="det:max_det").max == props["max_det"]["maximum"]
    assert _button(at, "Run detection").disabled, "nothing to run before an input is chosen"


def test_sample_run_shows_annotated_image_table_timings_and_json(app_env: LiveStack) -> None:
    at = _page()
    _run_sample(at, conf_thres=0.3, nms_method="diou")
    outcome = at.session_state["det:outcome"]
    job = outcome.jobs[0]
    assert job.raw["params"]["conf_thres"] == 0.3 and job.result["nms_method"] == "diou"
    detections = job.result["detections"]
    assert detections, "the demo detector finds objects in its held-out samples"
    (annotated,) = [img for img in at.image if "detections · model demo" in img.captions[0]]
    assert annotated.captions[0].startswith(f"{len(detections)} detections")
    sample = decode_image((SAMPLES / "detection" / SAMPLE).read_bytes())
    drawn = decode_image(outcome.artifacts[0]["annotated"])
    assert drawn.size == sample.size and drawn.tobytes() != sample.tobytes(), "boxes are drawn on the image"
    table = at.dataframe[0].value
    assert len(table) == len(detections)
    assert set(table["label"]) <= set(CLASS_NAMES) and (table["score"] >= 0.3).all()
    assert list(table.columns[3:]) == ["x1", "y1", "x2", "y2"]
    assert {"queue wait (ms)", "forward (ms)", "nms (ms)"} <= {m.label for m in at.metric}
    assert any(job.id in j.value for j in at.json), "raw JSON of the job behind an expander"


def test_two_nms_methods_side_by_side(app_env: LiveStack) -> None:
    at = _page()
    at.button(key=f"det:sample:{SAMPLE}").click().run()
    at.slider(key="det:conf_thres").set_value(0.05)
    at.selectbox(key="det-cmp-a:nms_method").set_value("vision_batch")
    assert at.selectbox(key="det-cmp-b:nms_method").value == "soft"
    _button(at, "Compare").click().run()
    assert not at.exception and not at.error
    hard, soft = at.session_state["det-cmp:outcome"].jobs
    assert (hard.result["nms_method"], soft.result["nms_method"]) == ("vision_batch", "soft")
    assert hard.raw["params"]["conf_thres"] == soft.raw["params"]["conf_thres"] == 0.05
    captions = [img.captions[0] for img in at.image if " — " in img.captions[0]]
    assert captions == [
        f"left: vision_batch — {len(hard.result['detections'])} detections",
        f"right: soft — {len(soft.result['detections'])} detections",
    ]
    assert len(soft.result["detections"]) >= len(hard.result["detections"]), "Soft-NMS decays, hard NMS drops"


def test_a_corrupt_upload_gets_the_gateways_message_not_a_traceback(app_env: LiveStack) -> None:
    at = _page()
    png = (SAMPLES / "detection" / SAMPLE).read_bytes()
    at.file_uploader[0].set_value(("broken.png", png[: len(png) // 3], "image/png")).run()
    assert "Cannot preview broken.png" in at.warning[0].value
    _button(at, "Run detection").click().run()
    assert not at.exception
    (error,) = at.error
    assert "corrupt_image" in error.value and "HTTP 422" in error.value
    assert "det:outcome" not in at.session_state


def test_a_wrong_api_key_stops_the_page_with_a_readable_message(app_env: LiveStack, monkeypatch: Any) -> None:
    monkeypatch.setenv("VISIONQ_API_KEY", "not-the-key-0123456789")
    at = _page()
    (error,) = at.error
    assert "missing or wrong X-API-Key" in error.value
    assert not [b for b in at.button if b.label == "Run detection"]
