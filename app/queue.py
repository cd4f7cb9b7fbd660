"""Async client of the job queue: enqueue, wait, read, cancel, and what workers are alive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.errors import ArtifactNotFound, JobNotFound, QueueFull
from workers.protocol import (
    CONSUMER_GROUP,
    ENQUEUE_LUA,
    FINISH_LUA,
    JobRecord,
    JobStatus,
    Keys,
    decode_notification,
    now_s,
)

logger = logging.getLogger(__name__)

#: How often an idle listener reads (and, every health_check_interval, pings) its connection, so that a
#: connection dropped silently by the network is noticed.
LISTEN_POLL_S = 5.0
#: How long an enqueue that wants a notification waits for the listener to (re)subscribe.
SUBSCRIBE_WAIT_S = 2.0


class JobQueue:
    """One per gateway process; wraps a pooled async Redis connection."""

    def __init__(
        self, redis_url: str, namespace: str, *, result_ttl_s: int, max_queue_length: int, recheck_s: float = 4.0
    ) -> None:
        # Typed Any: redis-py types every reply as a union (bytes | str | ...); this class decodes explicitly.
        self.redis: Any = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2, health_check_interval=30)
        #: A sync wait re-reads its job record this often, in case the notification was lost.
        self.recheck_s = recheck_s
        self.keys = Keys(namespace)
        self.result_ttl_s = result_ttl_s
        self.max_queue_length = max_queue_length
        self._enqueue = self.redis.register_script(ENQUEUE_LUA)
        self._finish = self.redis.register_script(FINISH_LUA)
        # Sync waiters are woken through one Pub/Sub channel per gateway process: one subscribed connection
        # carries every notification, instead of one blocked connection and one extra command per request.
        self.channel = self.keys.notify(uuid.uuid4().hex)
        self._waiters: dict[str, asyncio.Future[JobRecord]] = {}
        self._first_attempt = asyncio.Event()  # set once the listener has tried to subscribe, either way
        self._listener: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self.redis.aclose()

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="visionq-notify-listener")
        if not self._first_attempt.is_set():
            # Only the first request waits; later gaps are covered by _wake_finished and recheck_s.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_attempt.wait(), SUBSCRIBE_WAIT_S)

    async def _listen(self) -> None:
        """Route published final records to their waiters; resubscribe after connection losses."""
        failing = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._first_attempt.set()
                if failing:
                    logger.info("event=notify_listener_resubscribed channel=%s", self.channel)
                    failing = False
                await self._wake_finished()  # jobs that finished while nobody listened
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=LISTEN_POLL_S)
                    if message is not None and message["type"] == "message":
                        self._deliver(message["data"])
            except (RedisError, OSError) as exc:
                self._first_attempt.set()
                if not failing:
                    logger.warning("event=notify_listener_lost channel=%s reason=%s", self.channel, exc)
                    failing = True
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def _deliver(self, payload: bytes) -> None:
        try:
            job = decode_notification(payload)
        except (ValueError, KeyError, TypeError):  # never let one bad message stop the listener
            logger.exception("event=bad_notification channel=%s", self.channel)
            return
        waiter = self._waiters.get(job.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(job)

    async def _wake_finished(self) -> None:
        """After (re)subscribing: wake the waiters whose jobs finished while nobody listened."""
        for job_id, waiter in list(self._waiters.items()):
            with contextlib.suppress(JobNotFound):
                job = await self.get(job_id)
                if job.status.is_final and not waiter.done():
                    waiter.set_result(job)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def enqueue(
        self,
        task: str,
        params: dict[str, Any],
        data: bytes | None,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        retry_after_s: int = 1,
        notify: bool = False,
    ) -> JobRecord:
        """Store the input and the job record and append the job to its task's stream, atomically.

        With `notify`, the final record will be published to this gateway's channel; call `wait` next.

        Raises:
            QueueFull: the task already has `max_queue_length` jobs queued or running.
        """
        if notify:
            await self._ensure_listener()
        job = JobRecord(
            id=uuid.uuid4().hex,
            task=task,
            status=JobStatus.queued,
            params=params,
            created_at=now_s(),
            filename=filename,
            content_type=content_type,
            input_bytes=len(data) if data else 0,
            notify=self.channel if notify else None,
        )
        fields = [item for pair in job.to_redis().items() for item in pair]
        keys = self.keys
        if notify:  # registered before the job exists, so even an instant result finds its waiter
            self._waiters[job.id] = asyncio.get_running_loop().create_future()
        try:
            entry = await self._enqueue(
                keys=[keys.stream(task), keys.job(job.id), keys.job_input(job.id)],
                args=[self.max_queue_length, self.result_ttl_s, job.id, data or b"", *fields],
            )
            if entry is None:
                raise QueueFull(
                    f"task {task!r} already has {self.max_queue_length} jobs waiting; retry later",
                    retry_after_s=retry_after_s,
                    details={"task": task, "max_queue_length": self.max_queue_length},
                )
        except BaseException:  # refused or failed: no one will wait for this job
            self._waiters.pop(job.id, None)
            raise
        job.stream_id = entry.decode()
        return job

    async def get(self, job_id: str) -> JobRecord:
        raw = await self.redis.hgetall(self.keys.job(job_id))
        if not raw:
            raise JobNotFound(f"no job {job_id!r} (unknown, or its results expired)", details={"job_id": job_id})
        return JobRecord.from_redis(raw)

    async def wait(self, job_id: str, timeout_s: float) -> JobRecord:
        """Until the job (enqueued with `notify`) is final or `timeout_s` passes; returns the record either way."""
        waiter = self._waiters.get(job_id)
        if waiter is None:
            raise RuntimeError(f"job {job_id} was not enqueued with notify=True by this queue")
        deadline = time.monotonic() + timeout_s
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    return await asyncio.wait_for(asyncio.shield(waiter), min(remaining, self.recheck_s))
                except TimeoutError:
                    job = await self.get(job_id)  # a notification lost in a reconnect must not cost the timeout
                    if job.status.is_final:
                        return job
            return await self.get(job_id)
        finally:
            self._waiters.pop(job_id, None)

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job that has not finished; a finished job is returned unchanged."""
        job = await self.get(job_id)
        if not job.status.is_final:
            error = {"code": "cancelled", "message": "cancelled by the client", "details": {}}
            await self._finish(
                keys=[self.keys.job(job_id), self.keys.stream(job.task)],
                args=[
                    JobStatus.cancelled.value,
                    self.result_ttl_s,
                    CONSUMER_GROUP,
                    "finished_at",
                    repr(now_s()),
                    "error",
                    json.dumps(error),
                ],
            )
            job = await self.get(job_id)
        return job

    async def artifact(self, job_id: str, name: str) -> tuple[bytes, str]:
        job = await self.get(job_id)
        ref = next((a for a in job.artifacts if a.name == name), None)
        if ref is None:
            names = [a.name for a in job.artifacts]
            raise ArtifactNotFound(
                f"job {job_id} has no artifact {name!r}; it has {names}", details={"artifacts": names}
            )
        data = await self.redis.get(self.keys.artifact(job_id, name))
        if data is None:
            raise ArtifactNotFound(f"artifact {name!r} of job {job_id} expired", details={"artifacts": [name]})
        return bytes(data), ref.media_type

    async def queue_length(self, task: str) -> int:
        return int(await self.redis.xlen(self.keys.stream(task)))

    async def live_workers(self, task: str, heartbeat_ttl_s: float) -> list[dict[str, Any]]:
        """Workers serving `task` whose last heartbeat is younger than `heartbeat_ttl_s`, with their descriptions."""
        now = time.time()
        members = await self.redis.zrangebyscore(
            self.keys.workers(task), now - heartbeat_ttl_s, "+inf", withscores=True
        )
        workers = []
        for member, last_seen in members:
            worker_id = member.decode()
            raw = await self.redis.get(self.keys.worker(worker_id))
            if raw is None:
                continue
            info = json.loads(raw)
            info["last_seen_s_ago"] = max(0.0, now - last_seen)
            workers.append(info)
        return workers

    async def stats(self, task: str) -> dict[str, float]:
        raw = await self.redis.hgetall(self.keys.stats(task))
        return {k.decode(): float(v) for k, v in raw.items()}
