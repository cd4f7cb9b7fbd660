"""The worker loop: read a batch -> start jobs -> preprocess -> group -> forward -> postprocess -> write -> ack."""

from __future__ import annotations

import logging
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from types import FrameType
from typing import Any

import redis
from pydantic import BaseModel, ValidationError

from models.base import InputKind, Task, TaskItem
from models.errors import TaskInputError
from workers.batching import Delivery, group_by, read_batch
from workers.config import WorkerSettings
from workers.heartbeat import Heartbeat
from workers.jobs import JobStore, Outcome, StartedJob, batch_counters
from workers.protocol import Keys, error_payload
from workers.recovery import ensure_groups, reclaim

logger = logging.getLogger(__name__)


@dataclass
class _Prepared:
    delivery: Delivery
    params: BaseModel
    prepared: Any
    queue_wait_s: float


def _failed(d: Delivery, code: str, message: str, details: dict[str, Any] | None = None) -> Outcome:
    return Outcome(d, error=error_payload(code, message, details))


class Worker:
    """One consumer of the `workers` group on every stream of the tasks it serves."""

    def __init__(
        self,
        settings: WorkerSettings,
        tasks: dict[str, Task[Any, Any, Any]],
        r: redis.Redis,
        worker_id: str,
        info: dict[str, Any],
    ) -> None:
        self.settings, self.tasks, self.r, self.worker_id = settings, tasks, r, worker_id
        self.keys = Keys(settings.namespace)
        self.store = JobStore(r, self.keys, worker_id, settings.result_ttl_s)
        self.heartbeat = Heartbeat(r, self.keys, worker_id, info, settings.heartbeat_interval_s)
        self.stopping = False
        self._next_reclaim = 0.0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("worker=%s event=stopping reason=signal_%d (finishing the batch in hand)", self.worker_id, signum)
        self.stopping = True

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: its terminal closed
            signal.signal(signum, self.request_stop)
        names = sorted(self.tasks)
        ensure_groups(self.r, self.keys, names)
        self.heartbeat.start()
        logger.info("worker=%s event=ready tasks=%s", self.worker_id, ",".join(names))
        try:
            while not self.stopping:
                try:
                    self.poll_once(names)
                except redis.ConnectionError as exc:
                    logger.warning("worker=%s event=redis_unreachable reason=%s; retrying in 1 s", self.worker_id, exc)
                    time.sleep(1.0)
                except redis.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    # Redis came back empty (restarted without persistence): recreate streams and groups.
                    logger.warning("worker=%s event=groups_recreated reason=%s", self.worker_id, exc)
                    ensure_groups(self.r, self.keys, names)
        finally:
            self.heartbeat.stop()
            logger.info("worker=%s event=stopped", self.worker_id)

    def poll_once(self, names: list[str]) -> int:
        """One iteration: reclaim if due, read a batch, run it. Returns how many deliveries were handled."""
        s = self.settings
        deliveries = self._reclaim_if_due(names)
        if len(deliveries) < s.max_batch_size:
            deliveries += read_batch(
                self.r, self.keys, self.worker_id, names, s.max_batch_size - len(deliveries), s.max_batch_delay_ms
            )
        if deliveries:
            self.heartbeat.set_in_flight(deliveries)
            for group in group_by(deliveries, lambda d: d.task):
                self._run_task_batch(group[0].task, group)
            self.heartbeat.set_in_flight([])
        return len(deliveries)

    def _reclaim_if_due(self, names: list[str]) -> list[Delivery]:
        now = time.monotonic()
        if now < self._next_reclaim:
            return []
        self._next_reclaim = now + self.settings.visibility_timeout_s / 4
        min_idle_ms = int(self.settings.visibility_timeout_s * 1000)
        return reclaim(self.r, self.keys, self.worker_id, names, min_idle_ms, self.settings.max_batch_size)

    def _run_task_batch(self, task_name: str, deliveries: list[Delivery]) -> None:
        task = self.tasks[task_name]
        outcomes: list[Outcome] = []
        prepared: list[_Prepared] = []
        for job in self.store.start(deliveries):
            if job.attempt > self.settings.max_attempts:
                self.store.dead_letter(job.delivery, job.attempt - 1)
                continue
            result = self._prepare(task, job)
            (prepared if isinstance(result, _Prepared) else outcomes).append(result)  # type: ignore[arg-type]
        sizes, compute_s = [], 0.0
        waits = {p.delivery.job_id: p.queue_wait_s for p in prepared}
        for group in group_by(prepared, lambda p: task.batch_key(p.prepared, p.params)):
            t0 = time.perf_counter()
            raws = self._forward(task, group)
            compute_s += time.perf_counter() - t0
            if isinstance(raws, list):
                sizes.append(len(group))
                outcomes += [self._postprocess(task, p, raw) for p, raw in zip(group, raws, strict=True)]
            else:
                outcomes += [Outcome(p.delivery, error=raws) for p in group]
        counters: defaultdict[str, float] = defaultdict(float, batch_counters(sizes, compute_s))
        for o in outcomes:
            if o.error is None:
                counters["request_success"] += 1
                counters["queue_us"] += waits.get(o.delivery.job_id, 0.0) * 1e6
            else:
                counters[f"failure:{o.error['code']}"] += 1
        written = self.store.finish(task_name, outcomes, dict(counters))
        for o, ok in zip(outcomes, written, strict=True):
            event = ("succeeded" if o.error is None else "failed") if ok else "dropped_already_final"
            code = "" if o.error is None else f" code={o.error['code']}"
            logger.info("job=%s task=%s event=%s%s", o.delivery.job_id, task_name, event, code)

    def _prepare(self, task: Task[Any, Any, Any], job: StartedJob) -> _Prepared | Outcome:
        d = job.delivery
        queue_wait_s = max(0.0, time.time() - float(job.job.get("created_at", time.time())))
        logger.info(
            "job=%s task=%s event=started attempt=%d queue_wait_ms=%.1f",
            d.job_id,
            d.task,
            job.attempt,
            queue_wait_s * 1000,
        )
        try:
            params = task.spec.params.model_validate_json(job.job.get("params", "{}"))
            if job.data is None and task.spec.input_kind is not InputKind.none:
                raise TaskInputError("the job's input expired before a worker reached it", code="input_expired")
            item = TaskItem(d.job_id, job.data, job.job.get("filename"), job.job.get("content_type"))
            return _Prepared(d, params, task.preprocess(item, params), queue_wait_s)
        except TaskInputError as exc:
            return _failed(d, exc.code, exc.message, exc.details)
        except ValidationError as exc:
            return _failed(d, "invalid_params", str(exc))
        except Exception as exc:  # a bug in preprocess fails this job only; the worker lives on
            logger.exception("job=%s task=%s event=failed stage=preprocess", d.job_id, d.task)
            return _failed(d, "inference_failed", f"preprocessing failed: {type(exc).__name__}: {exc}")

    def _forward(self, task: Task[Any, Any, Any], group: list[_Prepared]) -> list[Any] | dict[str, Any]:
        """Raw outputs, one per item, or the error payload that fails the whole group."""

        def progress(index: int, fraction: float) -> None:
            self.store.progress(group[index].delivery.job_id, fraction)

        try:
            outputs = task.forward([p.prepared for p in group], [p.params for p in group], progress)
            if len(outputs) != len(group):
                raise RuntimeError(f"forward returned {len(outputs)} outputs for {len(group)} items")
            return outputs
        except TaskInputError as exc:
            return error_payload(exc.code, exc.message, exc.details)
        except Exception as exc:  # a model error fails its group, never the worker
            logger.exception("task=%s event=forward_failed batch=%d", group[0].delivery.task, len(group))
            return error_payload("inference_failed", f"the model failed: {type(exc).__name__}: {exc}")

    def _postprocess(self, task: Task[Any, Any, Any], p: _Prepared, raw: Any) -> Outcome:
        try:
            return Outcome(p.delivery, output=task.postprocess(raw, p.params))
        except TaskInputError as exc:
            return _failed(p.delivery, exc.code, exc.message, exc.details)
        except Exception as exc:
            logger.exception("job=%s task=%s event=failed stage=postprocess", p.delivery.job_id, p.delivery.task)
            return _failed(p.delivery, "inference_failed", f"postprocessing failed: {type(exc).__name__}: {exc}")
