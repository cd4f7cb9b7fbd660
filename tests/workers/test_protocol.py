from __future__ import annotations

import json

from workers.protocol import ArtifactRef, JobRecord, JobStatus, Keys, decode_notification


def test_job_record_round_trips_through_redis_fields() -> None:
    job = JobRecord(
        id="a" * 32,
        task="noop",
        status=JobStatus.succeeded,
        params={"x": 1},
        created_at=1.5,
        started_at=2.0,
        finished_at=3.25,
        attempts=2,
        progress=1.0,
        result={"ok": True},
        artifacts=[ArtifactRef("image", "image/png", 10)],
        error=None,
    )
    raw = {k.encode(): v.encode() for k, v in job.to_redis().items()}
    assert JobRecord.from_redis(raw) == job
    flat = [x for kv in job.to_redis().items() for x in kv]
    assert decode_notification(json.dumps(flat).encode()) == job


def test_keys_are_namespaced() -> None:
    keys = Keys("ns")
    built = [
        keys.stream("t"),
        keys.job("j"),
        keys.job_input("j"),
        keys.artifact("j", "a"),
        keys.notify("gateway-1"),
        keys.workers("t"),
        keys.worker("w"),
        keys.stats("t"),
        keys.dead_letter("t"),
    ]
    assert all(k.startswith("ns:") for k in built) and len(set(built)) == len(built)


def test_final_statuses() -> None:
    assert {s for s in JobStatus if s.is_final} == {JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled}
