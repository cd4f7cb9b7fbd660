"""Async client of the job queue: enqueue, wait, read, cancel, and what workers are alive."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

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

#: Longest single BLPOP of a synchronous wait; below redis-py's default socket timeout.
BLPOP_CHUNK_S = 4.0


class JobQueue:
    """One per gateway process; wraps a pooled async Redis connection."""

    def __init__(self, redis_url: str, namespace: str, *, result_ttl_s: int, max_queue_length: int) -> None:
        # Typed Any: redis-py types every reply as a union (bytes | str | ...); this class decodes explicitly.
        self.redis: Any = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2, health_check_interval=30)
        self.keys = Keys(namespace)
        self.result_ttl_s = result_ttl_s
        self.max_queue_length = max_queue_length
        self._enqueue = self.redis.register_script(ENQUEUE_LUA)
        self._finish = self.redis.register_script(FINISH_LUA)

    async def close(self) -> None:
        await self.redis.aclose()

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
    ) -> JobRecord:
        """Store the input and the job record and append the job to its task's stream, atomically.

        Raises:
            QueueFull: the task already has `max_queue_length` jobs queued or running.
        """
        job = JobRecord(
            id=uuid.uuid4().hex,
            task=task,
            status=JobStatus.queued,
            params=params,
            created_at=now_s(),
            filename=filename,
            content_type=content_type,
            input_bytes=len(data) if data else 0,
        )
        fields = [item for pair in job.to_redis().items() for item in pair]
        keys = self.keys
        entry = await self._enqueue(
            keys=[keys.stream(task), keys.job(job.id), keys.job_input(job.id), keys.done(job.id)],
            args=[self.max_queue_length, self.result_ttl_s, job.id, data or b"", *fields],
        )
        if entry is None:
            raise QueueFull(
                f"task {task!r} already has {self.max_queue_length} jobs waiting; retry later",
                retry_after_s=retry_after_s,
                details={"task": task, "max_queue_length": self.max_queue_length},
            )
        job.stream_id = entry.decode()
        return job

    async def get(self, job_id: str) -> JobRecord:
        raw = await self.redis.hgetall(self.keys.job(job_id))
        if not raw:
            raise JobNotFound(f"no job {job_id!r} (unknown, or its results expired)", details={"job_id": job_id})
        return JobRecord.from_redis(raw)

    async def wait(self, job_id: str, timeout_s: float) -> JobRecord:
        """Block until the job reaches a final state or `timeout_s` passes; returns the record either way."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            # Short BLPOPs: the client's socket timeout (5 s by default) must outlast each one.
            popped = await self.redis.blpop([self.keys.done(job_id)], timeout=min(remaining, BLPOP_CHUNK_S))
            if popped:
                return decode_notification(popped[1])
        return await self.get(job_id)

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job that has not finished; a finished job is returned unchanged."""
        job = await self.get(job_id)
        if not job.status.is_final:
            error = {"code": "cancelled", "message": "cancelled by the client", "details": {}}
            await self._finish(
                keys=[self.keys.job(job_id), self.keys.stream(job.task), self.keys.done(job_id)],
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
