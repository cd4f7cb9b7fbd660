"""The Super-resolution page with AppTest against a live gateway and super-resolution worker (no mocks)."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from frontend.imaging import decode_image
from tests.frontend.live import PAGES, SAMPLES, LiveStack

SAMPLE = "motorcycle_crop.png"


@pytest.fixture
def sr_env(app_env: LiveStack) -> LiveStack:
    if "super_resolution" not in app_env.tasks:
        pytest.skip("models/super_resolution is not in the tree yet")
    return app_env


def _page() -> AppTest:
    at = AppTest.from_file(str(PAGES / "2_Super_resolution.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_scale_and_model_controls_follow_the_schema(sr_env: LiveStack) -> None:
    props: Any = sr_env.params_schema("super_resolution")["properties"]
    at = _page()
    scale = at.radio(key="sr:scale")
    assert scale.options == [f"×{s}" for s in props["scale"]["enum"]]
    assert scale.value == props["scale"]["default"]
    assert [o.split(" — ")[0] for o in at.selectbox(key="sr:model").options] == props["model"]["enum"]


def test_upscale_shows_input_against_output_and_offers_the_download(sr_env: LiveStack) -> None:
    at = _page()
    at.button(key=f"sr:sample:{SAMPLE}").click().run()
    at.radio(key="sr:scale").set_value(2)
    next(b for b in at.button if b.label == "Upscale").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    outcome = at.session_state["sr:outcome"]
    low = decode_image((SAMPLES / "super_resolution" / SAMPLE).read_bytes())
    high = decode_image(outcome.artifacts[0]["image"])
    assert high.size == (2 * low.width, 2 * low.height)
    captions = {c for img in at.image for c in img.captions}
    assert {f"Input {low.width}×{low.height}", f"Output {high.width}×{high.height}"} <= captions
    facts = {m.label: m.value for m in at.metric}
    assert facts["scale"] == "×2" and facts["output"] == f"{high.width}×{high.height}"
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the upscaled image"
    crops = [img for img in at.image if img.captions[0] in ("Input (nearest-neighbour)", "Output")]
    before = [img.value for img in crops]
    at.slider(key="sr:zoom").set_value(8).run()
    assert not at.exception
    after = [img.value for img in at.image if img.captions[0] in ("Input (nearest-neighbour)", "Output")]
    assert len(after) == 2 and after != before, "zooming changes the crops"
    assert at.session_state["sr:outcome"] is outcome, "showing the result differently does not re-run the model"


def test_a_scale_the_model_does_not_serve_is_the_gateways_readable_422(sr_env: LiveStack) -> None:
    at = _page()
    at.button(key=f"sr:sample:{SAMPLE}").click().run()
    at.selectbox(key="sr:model").set_value("srresnet")
    at.radio(key="sr:scale").set_value(3)
    next(b for b in at.button if b.label == "Upscale").click().run()
    assert not at.exception
    (error,) = at.error
    assert "srresnet" in error.value and "scale" in error.value and "HTTP 422" in error.value
    assert "sr:outcome" not in at.session_state
