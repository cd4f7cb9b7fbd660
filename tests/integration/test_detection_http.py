"""Detection end to end over HTTP: held-out generated scenes through the gateway, a real worker and our NMS."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from models.detection.dataset import heldout_scene
from models.imaging import encode_image
from tests.conftest import Stack
from tests.integration.helpers import predict

#: Held-out indices checked end to end (the evaluation script covers the whole held-out set).
SCENES = (0, 1, 2)


@pytest.fixture(scope="module")
def detection_url(redis_server: object) -> Iterator[str]:
    from app.embedded_redis import EmbeddedRedis

    assert isinstance(redis_server, EmbeddedRedis)
    stack = Stack(redis_server.url, "detection-http")
    try:
        url = stack.start_gateway()
        stack.start_worker(tasks="detection", VISIONQ_TORCH_THREADS="1")
        yield url
    finally:
        stack.stop_all()


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.parametrize("index", SCENES)
def test_held_out_objects_are_found_with_iou_over_0_7(detection_url: str, index: int) -> None:
    scene = heldout_scene(index)
    resp = predict(detection_url, "detection", {"conf_thres": 0.3}, encode_image(scene.image))
    assert resp.status_code == 200, resp.text
    result = resp.json()["result"]
    assert result["model"] == "demo" and result["image_width"] == scene.image.shape[1]
    found = 0
    for box, label in zip(scene.boxes.tolist(), scene.labels.tolist(), strict=True):
        same_class = [d for d in result["detections"] if d["label_id"] == label]
        best = max((_iou(box, d["box"]) for d in same_class), default=0.0)
        found += best >= 0.7
    assert found >= 0.9 * len(scene.boxes), (found, len(scene.boxes), result["detections"])
    png = httpx.get(detection_url + resp.json()["artifacts"][0]["url"]).content
    assert Image.open(io.BytesIO(png)).size == (scene.image.shape[1], scene.image.shape[0])


def test_every_nms_method_is_reachable_and_soft_keeps_more(detection_url: str) -> None:
    image = encode_image(heldout_scene(SCENES[0]).image)
    results = {}
    for method in ("vision", "vision_batch", "or", "and", "merge", "diou", "soft"):
        params = {"nms_method": method, "conf_thres": 0.05, "iou_thres": 0.5}
        resp = predict(detection_url, "detection", params, image)
        assert resp.status_code == 200, (method, resp.text)
        results[method] = resp.json()["result"]
        assert results[method]["nms_method"] == method
    hard, soft = results["vision_batch"]["detections"], results["soft"]["detections"]
    assert len(soft) >= len(hard)
    assert [d["box"] for d in results["vision"]["detections"]] == [d["box"] for d in hard]
    assert [d["box"] for d in results["merge"]["detections"]] != [d["box"] for d in hard]


@pytest.mark.parametrize(
    ("params", "data", "status", "code"),
    [
        ({"conf_thres": 1.5}, None, 422, "invalid_params"),
        ({"nms_method": "fancy"}, None, 422, "invalid_params"),
        ({}, b"not an image at all", 415, "unsupported_media"),
        ({}, "truncated", 422, "corrupt_image"),
    ],
)
def test_bad_detection_requests_get_clear_4xx(
    detection_url: str, params: dict[str, object], data: bytes | str | None, status: int, code: str
) -> None:
    image = encode_image(heldout_scene(SCENES[0]).image)
    body = image[: len(image) // 3] if data == "truncated" else (data if isinstance(data, bytes) else image)
    resp = predict(detection_url, "detection", params, body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def test_models_lists_the_worker_with_its_torch_threads(detection_url: str) -> None:
    tasks = {t["name"]: t for t in httpx.get(detection_url + "/models").json()["tasks"]}
    workers = tasks["detection"]["workers"]
    assert len(workers) == 1 and workers[0]["device"] == "cpu"
    assert workers[0]["torch_threads"] == 1  # VISIONQ_TORCH_THREADS reached torch in the worker
