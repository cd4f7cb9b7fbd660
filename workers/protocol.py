"""The Redis protocol shared by the gateway and the workers: keys, job records, statuses, scripts.

Torch-free: the gateway imports this module. Every key is built here, under a configurable namespace:

    {ns}:jobs:{task}                 stream of job ids for a task; consumer group "workers"
    {ns}:dead:{task}                 dead-letter stream: jobs abandoned more than max_attempts times
    {ns}:job:{id}                    hash: the job record (JobRecord.to_redis / from_redis)
    {ns}:job:{id}:input              the uploaded bytes
    {ns}:job:{id}:artifact:{name}    result bytes (PNG, GIF, MP4, NPY)
    {ns}:notify:{listener}           Pub/Sub channel of one gateway process: final records of the jobs it waits on
    {ns}:workers:{task}              sorted set: worker id -> last heartbeat (unix s)
    {ns}:worker:{id}                 JSON: a worker's description (tasks, device, models), expires without heartbeats
    {ns}:stats:{task}                hash of counters the workers add to and /metrics reads

A stream entry lives until its job reaches a final state (then it is XACKed and XDELed), so XLEN is the
task's backlog (queued + running), which the enqueue script bounds atomically.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CONSUMER_GROUP = "workers"

#: Batch-size histogram buckets shared by the worker (which counts) and /metrics (which reports).
BATCH_SIZE_BUCKETS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)


class RedisSettings(BaseSettings):
    """Where Redis is and which namespace this deployment uses; shared by gateway and workers."""

    model_config = SettingsConfigDict(env_prefix="VISIONQ_", extra="ignore")

    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "VISIONQ_REDIS_URL"),
        description="Redis to use (redis://host:port/db or unix:///path). Unset: `visionq up` starts a private one.",
    )
    namespace: str = Field(default="visionq", description="Prefix of every Redis key, so deployments can share.")


class JobStatus(StrEnum):
    #: Accepted and waiting in its task's stream.
    queued = "queued"
    #: A worker has read it and is processing it.
    running = "running"
    #: Finished; result and artifacts are stored.
    succeeded = "succeeded"
    #: Finished with an error (bad input, model error, or dead-lettered after max_attempts).
    failed = "failed"
    #: Cancelled by DELETE /jobs/{id} before it finished; a worker that still holds it drops its output.
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


@dataclass(frozen=True)
class Keys:
    """Key builders for one namespace. Call sites never format keys themselves."""

    namespace: str

    def stream(self, task: str) -> str:
        return f"{self.namespace}:jobs:{task}"

    def dead_letter(self, task: str) -> str:
        return f"{self.namespace}:dead:{task}"

    def job(self, job_id: str) -> str:
        return f"{self.namespace}:job:{job_id}"

    def job_input(self, job_id: str) -> str:
        return f"{self.namespace}:job:{job_id}:input"

    def artifact(self, job_id: str, name: str) -> str:
        return f"{self.namespace}:job:{job_id}:artifact:{name}"

    def notify(self, listener_id: str) -> str:
        return f"{self.namespace}:notify:{listener_id}"

    def workers(self, task: str) -> str:
        return f"{self.namespace}:workers:{task}"

    def worker(self, worker_id: str) -> str:
        return f"{self.namespace}:worker:{worker_id}"

    def stats(self, task: str) -> str:
        return f"{self.namespace}:stats:{task}"


@dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact's bytes live and what they are; the bytes themselves are a separate key."""

    name: str
    media_type: str
    size_bytes: int


@dataclass
class JobRecord:
    """The job hash, decoded. Times are unix seconds (float); absent ones are None."""

    id: str
    task: str
    status: JobStatus
    params: dict[str, Any]
    created_at: float
    filename: str | None = None
    content_type: str | None = None
    input_bytes: int = 0
    stream_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    progress: float = 0.0
    worker: str | None = None
    result: dict[str, Any] | None = None
    artifacts: list[ArtifactRef] = field(default_factory=list)
    error: dict[str, Any] | None = None
    #: Pub/Sub channel to publish the final record to (set when a request waits synchronously).
    notify: str | None = None

    def to_redis(self) -> dict[str, str]:
        """Encode as hash fields (strings only; None fields are left out)."""
        raw: dict[str, Any] = {
            "id": self.id,
            "task": self.task,
            "status": self.status.value,
            "params": json.dumps(self.params),
            "created_at": repr(self.created_at),
            "filename": self.filename,
            "content_type": self.content_type,
            "input_bytes": str(self.input_bytes),
            "stream_id": self.stream_id,
            "started_at": None if self.started_at is None else repr(self.started_at),
            "finished_at": None if self.finished_at is None else repr(self.finished_at),
            "attempts": str(self.attempts),
            "progress": repr(self.progress),
            "worker": self.worker,
            "result": None if self.result is None else json.dumps(self.result),
            "artifacts": json.dumps([a.__dict__ for a in self.artifacts]) if self.artifacts else None,
            "error": None if self.error is None else json.dumps(self.error),
            "notify": self.notify,
        }
        return {k: v for k, v in raw.items() if v is not None}

    @classmethod
    def from_redis(cls, raw: dict[bytes, bytes] | dict[str, str]) -> JobRecord:
        h = {_text(k): _text(v) for k, v in raw.items()}
        return cls(
            id=h["id"],
            task=h["task"],
            status=JobStatus(h["status"]),
            params=json.loads(h.get("params", "{}")),
            created_at=float(h["created_at"]),
            filename=h.get("filename"),
            content_type=h.get("content_type"),
            input_bytes=int(h.get("input_bytes", "0")),
            stream_id=h.get("stream_id"),
            started_at=_float_or_none(h.get("started_at")),
            finished_at=_float_or_none(h.get("finished_at")),
            attempts=int(h.get("attempts", "0")),
            progress=float(h.get("progress", "0")),
            worker=h.get("worker"),
            result=json.loads(h["result"]) if "result" in h else None,
            artifacts=[ArtifactRef(**a) for a in json.loads(h["artifacts"])] if "artifacts" in h else [],
            error=json.loads(h["error"]) if "error" in h else None,
            notify=h.get("notify"),
        )


def decode_notification(payload: bytes) -> JobRecord:
    """The job record a finishing side published to the job's `notify` channel (see FINISH_LUA)."""
    flat = json.loads(payload)
    return JobRecord.from_redis(dict(zip(flat[::2], flat[1::2], strict=True)))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _float_or_none(value: str | None) -> float | None:
    return None if value is None else float(value)


def now_s() -> float:
    return time.time()


def error_payload(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


# --- Lua scripts: each is one atomic step of the job lifecycle ---------------------------------------------

#: KEYS: stream, job, input.  ARGV: max_backlog, ttl_s, job_id, input (may be empty), then hash fields.
#: Returns the stream entry id, or false when the backlog is full (the gateway answers 429).
ENQUEUE_LUA = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
local ttl = tonumber(ARGV[2])
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'EX', ttl) end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
local entry = redis.call('XADD', KEYS[1], '*', 'job', ARGV[3])
redis.call('HSET', KEYS[2], 'stream_id', entry)
redis.call('EXPIRE', KEYS[2], ttl)
return entry
"""

#: KEYS: job, stream.  ARGV: final status, ttl_s, group, then hash fields to set.
#: Idempotent: a job already final is left alone (returns 0), so a reclaimed duplicate can't overwrite it.
#: A job with a `notify` channel gets its final hash published there (JSON of HGETALL's flat list), so the
#: waiting gateway needs no extra read.
FINISH_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
local entry = redis.call('HGET', KEYS[1], 'stream_id')
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then
  if entry then redis.call('XACK', KEYS[2], ARGV[3], entry); redis.call('XDEL', KEYS[2], entry) end
  return 0
end
local fields = {'status', ARGV[1]}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
if entry then redis.call('XACK', KEYS[2], ARGV[3], entry); redis.call('XDEL', KEYS[2], entry) end
local channel = redis.call('HGET', KEYS[1], 'notify')
if channel then redis.call('PUBLISH', channel, cjson.encode(redis.call('HGETALL', KEYS[1]))) end
return 1
"""

#: KEYS: job.  ARGV: worker id, started_at.  Marks a queued (or reclaimed running) job running and counts the
#: attempt. Returns the new attempt count, or 0 if the job is final (cancelled) or gone: the worker skips it.
START_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'started_at', ARGV[2], 'progress', '0')
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
"""
