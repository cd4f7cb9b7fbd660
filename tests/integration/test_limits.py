"""Backpressure, batching, bad input, no worker, auth: what a caller sees at the edges."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import Stack
from tests.integration.helpers import metric_value, png_bytes, predict, wait_for_job


def test_overfilled_queue_gives_exactly_the_expected_429s(stack: Stack) -> None:
    url = stack.start_gateway(VISIONQ_MAX_QUEUE_LENGTH="5", VISIONQ_RETRY_AFTER_S="3")
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:  # no worker: nothing drains
        responses = list(pool.map(lambda _: predict(url, async_=True, client=client), range(12)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * 5 + [429] * 7
    rejected = next(r for r in responses if r.status_code == 429)
    assert rejected.headers["retry-after"] == "3"
    assert rejected.json()["error"]["code"] == "queue_full"
    stack.start_worker()
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    assert all(wait_for_job(url, i, ("succeeded",))["status"] == "succeeded" for i in accepted)
    assert predict(url).status_code == 200  # room again once the backlog drained


def test_concurrent_requests_form_batches(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker(VISIONQ_MAX_BATCH_SIZE="8", VISIONQ_MAX_BATCH_DELAY_MS="500")
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: predict(url, params={"sleep_ms": 50}, client=client), range(8)))
    assert all(r.status_code == 200 for r in responses)
    sizes = [r.json()["result"]["batch_size"] for r in responses]
    assert max(sizes) > 1, sizes
    metrics = httpx.get(f"{url}/metrics").text
    batches = metric_value(metrics, "visionq_batch_size_count", task="noop")
    assert metric_value(metrics, "visionq_inference_count_total", task="noop") == 8
    assert metric_value(metrics, "visionq_inference_exec_count_total", task="noop") == batches < 8
    assert metric_value(metrics, "visionq_batch_size_bucket", task="noop", le="1") < batches
    assert metric_value(metrics, "visionq_inference_request_success_total", task="noop") == 8


def test_different_batch_keys_never_share_a_forward(stack: Stack) -> None:
    url = stack.start_gateway()
    ids = [predict(url, params={"group": g}, async_=True).json()["id"] for g in "abab"]
    stack.start_worker()  # started after the four are queued, so its first read takes them all
    results = [wait_for_job(url, i, ("succeeded",))["result"] for i in ids]
    assert [r["batch_size"] for r in results] == [2, 2, 2, 2]


def test_no_worker_gives_503_after_the_timeout(stack: Stack) -> None:
    url = stack.start_gateway()
    resp = predict(url, timeout_s=1)
    assert resp.status_code == 503
    error = resp.json()["error"]
    assert error["code"] == "no_worker" and "no worker is serving task 'noop'" in error["message"]
    assert httpx.get(f"{url}/jobs/{error['details']['job_id']}").json()["status"] == "cancelled"


def test_bad_inputs_get_clear_4xx_and_leave_the_service_healthy(stack: Stack) -> None:
    url = stack.start_gateway(VISIONQ_MAX_UPLOAD_BYTES="100000", VISIONQ_MAX_IMAGE_PIXELS="1000000")
    stack.start_worker()
    good = png_bytes((64, 64))
    cases = {
        "unknown task": ({"task": "nope"}, 404, "unknown_task"),
        "not an image": ({"data": b"hello, I am text", "content_type": "text/plain"}, 415, "unsupported_media"),
        "truncated png": ({"data": good[: len(good) // 2]}, 422, "corrupt_image"),
        "empty file": ({"data": b""}, 422, "empty_file"),
        "huge upload": ({"data": b"\0" * 200_000}, 413, "payload_too_large"),
        "huge image": ({"data": png_bytes((2000, 1000))}, 413, "image_too_large"),
        "params out of range": ({"params": {"sleep_ms": -5}}, 422, "invalid_params"),
        "params wrong type": ({"params": {"sleep_ms": "soon"}}, 422, "invalid_params"),
    }
    for name, (kwargs, status, code) in cases.items():
        resp = predict(url, **kwargs)  # type: ignore[arg-type]
        assert resp.status_code == status, (name, resp.text)
        assert resp.json()["error"]["code"] == code, (name, resp.text)
        assert resp.json()["error"]["message"], name
    with httpx.Client() as client:
        not_json = client.post(
            f"{url}/predict", data={"task": "noop", "params": "{oops"}, files={"file": ("a.png", good, "image/png")}
        )
        assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]["message"]
        no_file = client.post(f"{url}/predict", data={"task": "noop"})
        assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "missing_file"
        no_task = client.post(f"{url}/predict", data={"params": "{}"})
        assert no_task.status_code == 422 and no_task.json()["error"]["code"] == "invalid_request"
        bad_timeout = client.post(
            f"{url}/predict", data={"task": "noop", "timeout_s": "-1"}, files={"file": ("a.png", good, "image/png")}
        )
        assert bad_timeout.status_code == 422
        assert client.get(f"{url}/jobs/{'0' * 32}").json()["error"]["code"] == "job_not_found"
        assert client.get(f"{url}/jobs/not-an-id").status_code == 422
    assert predict(url, data=good).status_code == 200


def test_api_key_guards_everything_but_health(stack: Stack) -> None:
    key = "k" * 24
    url = stack.start_gateway(VISIONQ_API_KEY=key)
    stack.start_worker()
    denied = predict(url)
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{url}/models").status_code == 401
    assert httpx.get(f"{url}/healthz").status_code == 200
    with httpx.Client(headers={"X-API-Key": key}, timeout=30) as client:
        assert predict(url, client=client).status_code == 200
        assert client.get(f"{url}/models").status_code == 200


def test_readiness_models_and_openapi_describe_the_deployment(stack: Stack) -> None:
    url = stack.start_gateway()
    not_ready = httpx.get(f"{url}/v2/health/ready")
    assert not_ready.status_code == 503 and "noop, pose" in not_ready.json()["message"]
    worker = stack.start_worker(tasks="noop,pose,detection,super_resolution")  # one worker can serve every task
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["tasks"] == {"noop": 1, "pose": 1, "detection": 1, "super_resolution": 1}
    assert httpx.get(f"{url}/v2/health/live").status_code == 200
    tasks = {t["name"]: t for t in httpx.get(f"{url}/models").json()["tasks"]}
    task, pose = tasks["noop"], tasks["pose"]
    assert {"detection", "super_resolution"} <= set(tasks)
    assert pose["name"] == "pose" and pose["input_kind"] == "none"
    assert task["name"] == "noop" and task["input_kind"] == "image"
    assert task["workers"][0]["pid"] == worker.pid and task["workers"][0]["device"] == "cpu"
    assert task["models"][0]["name"] == "noop"
    assert "sleep_ms" in task["params_schema"]["properties"]
    schema = httpx.get(f"{url}/openapi.json").json()
    assert "noop.Params" in schema["components"]["schemas"]
    assert {"/predict", "/jobs/{job_id}", "/jobs/{job_id}/artifacts/{name}", "/metrics"} <= set(schema["paths"])
    json.dumps(schema)
