"""Job lifecycle writes of a worker: start, progress, succeed, fail, dead-letter; and the stats counters.

Each step of a batch is one pipelined round trip (start + read inputs; finish + count), because a round trip
to Redis costs ~0.3-0.4 ms on a loopback here and a no-op job is otherwise nothing but round trips.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline

from models.base import TaskOutput
from workers.batching import Delivery
from workers.protocol import (
    BATCH_SIZE_BUCKETS,
    CONSUMER_GROUP,
    FINISH_LUA,
    START_LUA,
    ArtifactRef,
    JobStatus,
    Keys,
    error_payload,
    now_s,
)

logger = logging.getLogger(__name__)

#: Progress writes per job are throttled to this interval (a tiled job may report thousands of steps).
PROGRESS_INTERVAL_S = 0.2


@dataclass(frozen=True)
class StartedJob:
    delivery: Delivery
    attempt: int
    job: dict[str, str]
    data: bytes | None


@dataclass(frozen=True)
class Outcome:
    """How one job ended on this worker: an output, or an error payload."""

    delivery: Delivery
    output: TaskOutput | None = None
    error: dict[str, Any] | None = None


class JobStore:
    """The worker's side of the Redis protocol (the gateway's is app/queue.py)."""

    def __init__(self, r: redis.Redis, keys: Keys, worker_id: str, result_ttl_s: int) -> None:
        self.r, self.keys, self.worker_id, self.result_ttl_s = r, keys, worker_id, result_ttl_s
        self._last_progress: dict[str, float] = {}
        self._load_scripts()

    def _load_scripts(self) -> None:
        self._start_sha = self.r.script_load(START_LUA)
        self._finish_sha = self.r.script_load(FINISH_LUA)

    def _execute(self, fill: Any) -> list[Any]:
        """Run a pipeline built by `fill(pipe)`; reload the scripts once if Redis forgot them (a restart)."""
        for retry in (False, True):
            pipe = self.r.pipeline(transaction=False)
            fill(pipe)
            try:
                replies: list[Any] = pipe.execute()
                return replies
            except redis.exceptions.NoScriptError:
                if retry:
                    raise
                self._load_scripts()
        raise AssertionError("unreachable")

    def start(self, deliveries: list[Delivery]) -> list[StartedJob]:
        """Mark jobs running and read their records and inputs. Jobs already final are acked and skipped."""
        now = repr(now_s())

        def fill(pipe: Pipeline) -> None:
            for d in deliveries:
                pipe.evalsha(self._start_sha, 1, self.keys.job(d.job_id), self.worker_id, now)
                pipe.hgetall(self.keys.job(d.job_id))
                pipe.get(self.keys.job_input(d.job_id))

        replies = self._execute(fill)
        started = []
        for i, d in enumerate(deliveries):
            attempt, raw, data = int(replies[3 * i]), replies[3 * i + 1], replies[3 * i + 2]
            if attempt == 0:  # cancelled, finished elsewhere, or expired: drop the entry
                self.r.xack(self.keys.stream(d.task), CONSUMER_GROUP, d.entry_id)
                self.r.xdel(self.keys.stream(d.task), d.entry_id)
                logger.info("job=%s task=%s event=skipped reason=final_or_gone", d.job_id, d.task)
                continue
            started.append(StartedJob(d, attempt, {k.decode(): v.decode() for k, v in raw.items()}, data))
        return started

    def progress(self, job_id: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress.get(job_id, 0.0) < PROGRESS_INTERVAL_S:
            return
        self._last_progress[job_id] = now
        self.r.hset(self.keys.job(job_id), "progress", repr(round(min(max(fraction, 0.0), 1.0), 4)))

    def finish(self, task: str, outcomes: list[Outcome], counters: dict[str, float]) -> list[bool]:
        """Write results (or errors) of jobs and the task's counters in one round trip.

        Returns, per outcome, whether it was written (False: the job was already final, e.g. cancelled).
        """

        finish_at: list[int] = []  # pipeline positions of the FINISH calls

        def fill(pipe: Pipeline) -> None:
            finish_at.clear()
            for o in outcomes:
                fields: list[str] = []
                if o.output is not None:
                    refs = []
                    for name, artifact in o.output.artifacts.items():
                        pipe.set(self.keys.artifact(o.delivery.job_id, name), artifact.data, ex=self.result_ttl_s)
                        refs.append(ArtifactRef(name, artifact.media_type, len(artifact.data)).__dict__)
                    fields = ["result", json.dumps(o.output.result), "artifacts", json.dumps(refs), "progress", "1.0"]
                    status = JobStatus.succeeded
                else:
                    fields = ["error", json.dumps(o.error)]
                    status = JobStatus.failed
                d = o.delivery
                finish_at.append(len(pipe.command_stack))
                pipe.evalsha(
                    self._finish_sha,
                    2,
                    self.keys.job(d.job_id),
                    self.keys.stream(d.task),
                    status.value,
                    self.result_ttl_s,
                    CONSUMER_GROUP,
                    "finished_at",
                    repr(now_s()),
                    *fields,
                )
            for field, value in counters.items():
                if value:
                    pipe.hincrbyfloat(self.keys.stats(task), field, value)

        replies = self._execute(fill)
        for o in outcomes:
            self._last_progress.pop(o.delivery.job_id, None)
        return [replies[i] == 1 for i in finish_at]

    def fail(self, d: Delivery, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        self.finish(d.task, [Outcome(d, error=error_payload(code, message, details))], {f"failure:{code}": 1})

    def dead_letter(self, d: Delivery, attempts: int) -> None:
        self.r.xadd(self.keys.dead_letter(d.task), {"job": d.job_id, "attempts": str(attempts)}, maxlen=10_000)
        self.fail(
            d,
            "abandoned",
            f"the job was started {attempts} times and never finished (a worker died each time); gave up",
            {"attempts": attempts},
        )
        logger.warning("job=%s task=%s event=dead_lettered attempts=%d", d.job_id, d.task, attempts)


def batch_counters(batch_sizes: Iterable[int], compute_s: float) -> dict[str, float]:
    """Counters for a set of forward calls: items, executions, compute time, batch-size buckets."""
    counters: dict[str, float] = {"compute_us": compute_s * 1e6}
    for size in batch_sizes:
        counters["exec_count"] = counters.get("exec_count", 0) + 1
        counters["inference_count"] = counters.get("inference_count", 0) + size
        for bucket in BATCH_SIZE_BUCKETS:
            if size <= bucket:
                counters[f"batch_le:{bucket}"] = counters.get(f"batch_le:{bucket}", 0) + 1
    return counters
