"""Nothing accepted is lost: reclaim after kill -9, dead-lettering, graceful SIGTERM, Redis outages."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

from app.embedded_redis import start_redis
from tests.conftest import Stack
from tests.integration.helpers import predict, wait_for_job

FAST_RECLAIM = {"VISIONQ_VISIBILITY_TIMEOUT_S": "2"}


def test_job_of_a_killed_worker_completes_on_another(stack: Stack) -> None:
    url = stack.start_gateway()
    first = stack.start_worker(**FAST_RECLAIM)
    job_id = predict(url, params={"sleep_ms": 5000}, async_=True).json()["id"]
    running = wait_for_job(url, job_id, ("running",))
    assert running["attempts"] == 1
    first.kill()  # SIGKILL: no chance to ack, release or say goodbye
    first.wait()
    second = stack.start_worker(**FAST_RECLAIM)
    job = wait_for_job(url, job_id, ("succeeded", "failed"), timeout_s=30)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert job["result"]["pid"] == second.pid


def test_job_abandoned_past_max_attempts_is_dead_lettered(stack: Stack) -> None:
    url = stack.start_gateway()
    settings = {**FAST_RECLAIM, "VISIONQ_MAX_ATTEMPTS": "1"}
    first = stack.start_worker(**settings)
    job_id = predict(url, params={"sleep_ms": 5000}, async_=True).json()["id"]
    wait_for_job(url, job_id, ("running",))
    first.kill()
    first.wait()
    stack.start_worker(**settings)
    job = wait_for_job(url, job_id, ("succeeded", "failed"), timeout_s=30)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "abandoned" and "1 times" in job["error"]["message"]
    r = redis.Redis.from_url(stack.redis_url)
    dead = r.xrange(f"{stack.namespace}:dead:noop")
    assert [e[1][b"job"].decode() for e in dead] == [job_id]
    assert r.xlen(f"{stack.namespace}:jobs:noop") == 0
    r.close()


def test_sigterm_finishes_the_batch_in_hand(stack: Stack) -> None:
    url = stack.start_gateway()
    worker = stack.start_worker()
    job_id = predict(url, params={"sleep_ms": 1500}, async_=True).json()["id"]
    wait_for_job(url, job_id, ("running",))
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    job = httpx.get(f"{url}/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["attempts"] == 1
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 503 and ready.json()["tasks"]["noop"] == 0


def test_redis_outage_gives_503_and_the_gateway_recovers(stack: Stack) -> None:
    own = start_redis()
    stack.redis_url = own.url
    try:
        url = stack.start_gateway()
        stack.start_worker()
        assert predict(url).status_code == 200
        own.stop()
        resp = predict(url)
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "redis_unavailable"
        assert "Redis" in resp.json()["error"]["message"]
        assert resp.headers["retry-after"]
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503 and ready.json()["redis"] is False
        assert httpx.get(f"{url}/healthz").status_code == 200
        own = start_redis(port=own.port)
        deadline = time.monotonic() + 20
        while (resp := predict(url, timeout_s=5)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert resp.status_code == 200, resp.text
    finally:
        own.stop()


def test_sync_wait_survives_losing_its_notification_connection(stack: Stack) -> None:
    """Kill the gateway's Pub/Sub connection again and again while the job finishes: the result still arrives."""
    own = start_redis()
    stack.redis_url = own.url
    try:
        # A 30 s re-read: only the listener's catch-up after resubscribing can answer within the bound below.
        url = stack.start_gateway(VISIONQ_WAIT_RECHECK_S="30")
        stack.start_worker()
        assert predict(url).status_code == 200  # the gateway has subscribed
        r = redis.Redis.from_url(own.url)
        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            pending = pool.submit(predict, url, params={"sleep_ms": 1500}, timeout_s=30)
            time.sleep(0.5)
            killed = 0
            while time.monotonic() - started < 2.5:  # the job finishes at ~1.5 s, while no one is subscribed
                killed += int(r.client_kill_filter(_type="pubsub"))
                time.sleep(0.02)
            resp = pending.result(timeout=30)
            elapsed = time.monotonic() - started
        r.close()
        assert killed >= 1
        assert resp.status_code == 200, resp.text
        assert elapsed < 10, f"the lost notification cost {elapsed:.1f} s"
    finally:
        own.stop()
