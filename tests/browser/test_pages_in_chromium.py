"""The frontend in a real Chromium: upload a sample, run the task, see the result; screenshots in tests/artifacts."""

from __future__ import annotations

import re

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.frontend.live import SAMPLES, LiveStack

pytestmark = pytest.mark.browser

#: Model runs on 2 shared CPU cores; page loads and reruns are quicker.
RESULT_TIMEOUT_MS = 90_000


def _open(page: Page, url: str, ready_text: str) -> None:
    page.goto(url)
    expect(page.get_by_text(ready_text, exact=True).first).to_be_visible(timeout=30_000)


def _settled(page: Page) -> None:
    """Wait until the script run is over and the lazily loaded tables and charts have drawn."""
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")  # the table and chart components are fetched on first use
    for element in page.locator("[data-testid=stDataFrame], [data-testid=stVegaLiteChart]").all():
        expect(element.locator("canvas, svg").first).to_be_visible(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stDataFrame]')]"
        ".every(e => e.getBoundingClientRect().width > 200)"
    )


def _upload(page: Page, path: str) -> None:
    page.locator("input[type=file]").first.set_input_files(path)
    expect(page.get_by_text(re.compile(r"^Input: ")).first).to_be_visible(timeout=30_000)


def _natural_width(page: Page, caption: str | re.Pattern[str]) -> int:
    image = page.locator("[data-testid=stImage]").filter(has_text=caption).locator("img")
    expect(image).to_be_visible(timeout=RESULT_TIMEOUT_MS)
    width: int = image.evaluate("img => img.complete ? img.naturalWidth : 0")
    return width


def test_detection_upload_run_shows_annotated_image_and_table(frontend_url: str, page: Page) -> None:
    sample = SAMPLES / "detection" / "sample_3.png"
    _open(page, f"{frontend_url}/Detection", "Run detection")
    _upload(page, str(sample))
    conf = page.get_by_role("slider", name="Confidence threshold")
    conf.focus()
    for _ in range(20):  # 0.50 -> 0.30 in steps of 0.01, as a keyboard user would
        conf.press("ArrowLeft")
    expect(conf).to_have_attribute("aria-valuetext", "0.30")
    page.get_by_role("button", name="Run detection").click()
    caption = re.compile(r"\d+ detections · model demo · NMS vision_batch")
    with Image.open(sample) as image:
        assert _natural_width(page, caption) == image.width, "the annotated image, at the input's size"
    table = page.locator("[data-testid=stDataFrame]").first
    expect(table).to_be_visible()
    expect(table).to_contain_text("label")
    _settled(page)
    page.screenshot(path=ARTIFACTS / "browser_detection.png")


def test_super_resolution_upload_run_shows_output_and_download(frontend_url: str, live: LiveStack, page: Page) -> None:
    if "super_resolution" not in live.tasks:
        pytest.skip("models/super_resolution is not in the tree yet")
    sample = SAMPLES / "super_resolution" / "motorcycle_crop.png"
    _open(page, f"{frontend_url}/Super_resolution", "Upscale")
    _upload(page, str(sample))
    page.get_by_text("×2", exact=True).click()  # the scale radio
    page.get_by_role("button", name="Upscale").click()
    with Image.open(sample) as image:
        width = image.width
    assert _natural_width(page, f"Output {2 * width}×{2 * width}") == 2 * width
    expect(page.get_by_role("button", name=re.compile("Download the upscaled image"))).to_be_visible()
    _settled(page)
    page.screenshot(path=ARTIFACTS / "browser_super_resolution.png")


def test_home_shows_workers_and_latency(frontend_url: str, live: LiveStack, page: Page) -> None:
    sample = SAMPLES / "detection" / "sample_10.png"
    resp = httpx.post(
        f"{live.url}/predict",
        data={"task": "detection"},
        files={"file": (sample.name, sample.read_bytes(), "image/png")},
        headers={"X-API-Key": live.api_key},
        timeout=RESULT_TIMEOUT_MS / 1000,
    )
    assert resp.status_code == 200, resp.text
    _open(page, frontend_url, "Tasks and queues")
    expect(page.get_by_text("Workers", exact=True)).to_be_visible()
    expect(page.get_by_text("reachable", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible(timeout=30_000)  # the latency histogram
    _settled(page)
    page.screenshot(path=ARTIFACTS / "browser_home.png")
