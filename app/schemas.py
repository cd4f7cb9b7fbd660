"""Response models of the gateway's own resources (jobs, models, health). Task params/results live in models/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from workers.protocol import JobRecord, JobStatus


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_params"])
    message: str = Field(examples=["scale must be 2 or 4"])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


class ArtifactView(BaseModel):
    name: str = Field(examples=["image"])
    media_type: str = Field(examples=["image/png"])
    size_bytes: int
    url: str = Field(examples=["/jobs/3f2c.../artifacts/image"])


class JobView(BaseModel):
    """A job as the API shows it: status, timings, result and where its artifacts are."""

    id: str
    task: str
    status: JobStatus
    progress: float = Field(ge=0, le=1, description="0-1; tasks with long work report it while running.")
    params: dict[str, Any]
    attempts: int = Field(description="How many times a worker started it (more than 1 after a reclaim).")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queue_wait_ms: float | None = Field(default=None, description="From accepted to started by a worker.")
    run_ms: float | None = Field(default=None, description="From started to finished, on the worker.")
    result: dict[str, Any] | None = None
    artifacts: list[ArtifactView] = Field(default_factory=list)
    error: ErrorDetail | None = None

    @classmethod
    def from_record(cls, job: JobRecord) -> JobView:
        def ts(value: float | None) -> datetime | None:
            return None if value is None else datetime.fromtimestamp(value, UTC)

        wait = None if job.started_at is None else (job.started_at - job.created_at) * 1000
        run = None if job.started_at is None or job.finished_at is None else (job.finished_at - job.started_at) * 1000
        return cls(
            id=job.id,
            task=job.task,
            status=job.status,
            progress=min(max(job.progress, 0.0), 1.0),
            params=job.params,
            attempts=job.attempts,
            created_at=datetime.fromtimestamp(job.created_at, UTC),
            started_at=ts(job.started_at),
            finished_at=ts(job.finished_at),
            queue_wait_ms=wait,
            run_ms=run,
            result=job.result,
            artifacts=[
                ArtifactView(
                    name=a.name,
                    media_type=a.media_type,
                    size_bytes=a.size_bytes,
                    url=f"/jobs/{job.id}/artifacts/{a.name}",
                )
                for a in job.artifacts
            ],
            error=None if job.error is None else ErrorDetail(**job.error),
        )


class WorkerView(BaseModel):
    id: str
    device: str
    tasks: list[str]
    pid: int
    host: str
    last_seen_s_ago: float
    torch_threads: int | None = Field(default=None, description="CPU threads torch uses; None if it runs no torch.")


class ModelView(BaseModel):
    name: str
    description: str
    weights: str
    default: bool


class TaskView(BaseModel):
    name: str
    title: str
    description: str
    input_kind: str
    queue_length: int = Field(description="Jobs queued or running.")
    workers: list[WorkerView]
    models: list[ModelView] = Field(description="As reported by a live worker; empty while none runs.")
    params_schema: dict[str, Any]


class ModelsView(BaseModel):
    tasks: list[TaskView]


class ReadyView(BaseModel):
    ready: bool
    redis: bool
    tasks: dict[str, int] = Field(description="Live workers per task.")
    message: str
