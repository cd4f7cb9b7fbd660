"""Super-resolution end to end over HTTP: output size, quality over bicubic on a held-out photo, tiling, errors."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from app.embedded_redis import EmbeddedRedis
from models.imaging import encode_image
from models.super_resolution.degrade import downscale
from models.super_resolution.evaluate import score
from models.super_resolution.photos import HELDOUT_PHOTOS, load_photo
from tests.conftest import Stack
from tests.integration.helpers import predict, wait_for_job


@pytest.fixture(scope="module")
def sr_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    stack = Stack(redis_server.url, "sr-http")
    try:
        url = stack.start_gateway()
        stack.start_worker(tasks="super_resolution")
        yield url
    finally:
        stack.stop_all()


def _fetch_image(url: str, job: dict[str, object]) -> np.ndarray:
    (artifact,) = job["artifacts"]  # type: ignore[misc]
    data = httpx.get(url + artifact["url"]).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_srresnet_beats_bicubic_on_a_held_out_photo(sr_url: str) -> None:
    hr_u8 = load_photo(HELDOUT_PHOTOS[0])[:192, :256]
    hr = torch.from_numpy(hr_u8).permute(2, 0, 1).float()[None] / 255
    lr = (downscale(hr, 2)[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    psnr = {}
    for model in ("bicubic", "srresnet"):
        resp = predict(sr_url, "super_resolution", {"model": model, "scale": 2}, encode_image(lr))
        assert resp.status_code == 200, resp.text
        result = resp.json()["result"]
        assert (result["width"], result["height"]) == (256, 192) and result["input_width"] == 128
        out = _fetch_image(sr_url, resp.json())
        assert out.shape == hr_u8.shape
        psnr[model], _ = score(hr_u8 / 255.0, out / 255.0, border=2)
    assert psnr["srresnet"] > psnr["bicubic"] + 0.3, psnr


def test_tiled_job_reports_progress_and_webp_output(sr_url: str) -> None:
    rgb = load_photo(HELDOUT_PHOTOS[1])[:200, :300]
    params = {"model": "srresnet", "scale": 2, "tile": 64, "tile_overlap": 20, "output_format": "webp"}
    job = predict(sr_url, "super_resolution", params, encode_image(rgb), async_=True).json()
    done = wait_for_job(sr_url, job["id"], ("succeeded", "failed"), timeout_s=120)
    assert done["status"] == "succeeded", done
    assert done["result"]["tiles"] > 1 and done["progress"] == 1.0
    assert done["artifacts"][0]["media_type"] == "image/webp"
    assert _fetch_image(sr_url, done).shape == (400, 600, 3)


@pytest.mark.parametrize(
    ("params", "code"),
    [({"model": "srresnet", "scale": 3}, "invalid_params"), ({"tile": 64, "tile_overlap": 40}, "invalid_params")],
)
def test_impossible_params_get_422(sr_url: str, params: dict[str, object], code: str) -> None:
    resp = predict(sr_url, "super_resolution", params, encode_image(np.zeros((16, 16, 3), np.uint8)))
    assert resp.status_code == 422 and resp.json()["error"]["code"] == code
