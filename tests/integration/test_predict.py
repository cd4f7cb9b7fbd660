"""The request path end to end: HTTP -> gateway -> Redis -> worker process -> HTTP, with real processes."""

from __future__ import annotations

import httpx

from tests.conftest import Stack
from tests.integration.helpers import png_bytes, predict, wait_for_job


def test_sync_predict_returns_result_and_artifact(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker()
    data = png_bytes((20, 10))
    resp = predict(url, params={"sleep_ms": 5}, data=data)
    assert resp.status_code == 200, resp.text
    job = resp.json()
    assert job["status"] == "succeeded"
    assert job["result"]["input_bytes"] == len(data)
    assert job["attempts"] == 1 and job["progress"] == 1.0
    assert job["queue_wait_ms"] >= 0 and job["run_ms"] >= 0
    (artifact,) = job["artifacts"]
    got = httpx.get(url + artifact["url"])
    assert got.status_code == 200 and got.content == str(len(data)).encode()
    assert got.headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{url}/jobs/{job['id']}").json()["status"] == "succeeded"


def test_async_predict_answers_202_with_location_then_completes(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker()
    resp = predict(url, params={"sleep_ms": 300}, async_=True)
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "queued"
    location = resp.headers["location"]
    assert location == f"/jobs/{resp.json()['id']}"
    job = wait_for_job(url, resp.json()["id"], ("succeeded",))
    assert job["result"]["batch_size"] == 1


def test_long_job_reports_progress_while_running(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker()
    resp = predict(url, params={"sleep_ms": 2000, "progress_steps": 8}, async_=True)
    job_id = resp.json()["id"]
    seen = set()
    job = wait_for_job(url, job_id, ("running",))
    while job["status"] == "running":
        seen.add(job["progress"])
        job = httpx.get(f"{url}/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    assert any(0 < p < 1 for p in seen), seen


def test_cancelled_job_is_skipped_by_the_worker(stack: Stack) -> None:
    url = stack.start_gateway()
    job_id = predict(url, async_=True).json()["id"]
    resp = httpx.delete(f"{url}/jobs/{job_id}")
    assert resp.status_code == 200 and resp.json()["status"] == "cancelled"
    assert resp.json()["error"]["code"] == "cancelled"
    stack.start_worker()
    second = predict(url)  # processed after the cancelled one would have been
    assert second.status_code == 200
    job = httpx.get(f"{url}/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["attempts"] == 0 and job["result"] is None


def test_cancelling_a_finished_job_changes_nothing(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker()
    job = predict(url).json()
    assert httpx.delete(f"{url}/jobs/{job['id']}").json()["status"] == "succeeded"


def test_results_expire_after_their_ttl(stack: Stack) -> None:
    url = stack.start_gateway(VISIONQ_RESULT_TTL_S="2")
    stack.start_worker(VISIONQ_RESULT_TTL_S="2")
    job = predict(url).json()
    assert httpx.get(f"{url}/jobs/{job['id']}").status_code == 200
    wait_for_job_gone(url, job["id"], timeout_s=6)
    resp = httpx.get(f"{url}{job['artifacts'][0]['url']}")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "job_not_found"


def wait_for_job_gone(url: str, job_id: str, timeout_s: float) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/jobs/{job_id}").status_code == 404:
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still readable after {timeout_s} s")


def test_a_failing_item_fails_only_its_own_job(stack: Stack) -> None:
    url = stack.start_gateway()
    worker = stack.start_worker(VISIONQ_MAX_BATCH_DELAY_MS="300")
    ids = [predict(url, params={"fail": "input"} if i == 1 else {}, async_=True).json()["id"] for i in range(3)]
    jobs = [wait_for_job(url, i, ("succeeded", "failed")) for i in ids]
    assert [j["status"] for j in jobs] == ["succeeded", "failed", "succeeded"]
    assert jobs[1]["error"]["code"] == "test_input_error"
    model_fail = predict(url, params={"fail": "model"})
    assert model_fail.status_code == 500
    assert model_fail.json()["error"]["code"] == "inference_failed"
    after = predict(url)
    assert after.status_code == 200 and after.json()["result"]["pid"] == worker.pid


def test_task_without_a_file_takes_params_only(stack: Stack) -> None:
    url = stack.start_gateway()
    stack.start_worker(tasks="pose")
    with httpx.Client(timeout=30) as client:
        resp = client.post(f"{url}/predict", data={"task": "pose", "params": '{"sleep_ms": 1}'})
        assert resp.status_code == 200, resp.text
        assert resp.json()["result"]["input_bytes"] == 0
    with_file = predict(url, task="pose")
    assert with_file.status_code == 422 and with_file.json()["error"]["code"] == "unexpected_file"
