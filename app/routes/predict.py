"""POST /predict: validate, queue, and wait for the result (or answer 202 at once with async=true)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Response, UploadFile
from pydantic import ValidationError

from app.deps import ApiKeyDep, Gateway, GatewayDep
from app.errors import ApiError, InferenceFailed, InvalidParams, JobCancelled, NoWorker, UnknownTask, input_error
from app.inputs import read_upload
from app.schemas import ErrorBody, JobView
from models import registry
from workers.protocol import JobRecord, JobStatus

router = APIRouter(tags=["predict"], dependencies=[ApiKeyDep])

#: Error codes a worker records for failures that are not the caller's fault (answered 500, not 4xx).
SERVER_SIDE_CODES = frozenset({"inference_failed", "abandoned", "internal"})

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "Missing or wrong X-API-Key.",
        404: "Unknown task.",
        409: "The job was cancelled while the request waited.",
        413: "Upload or image too large.",
        415: "The file is not a supported image or video.",
        422: "Bad params or an input the task cannot use.",
        429: "The task's queue is full; see Retry-After.",
        500: "The model failed on this input.",
        503: "No worker serves the task, or Redis is unreachable; see Retry-After.",
    }.items()
}


@router.post(
    "/predict",
    response_model=JobView,
    responses={202: {"model": JobView, "description": "Accepted; poll the Location."}, **_ERRORS},
)
async def create_prediction(
    gw: GatewayDep,
    task: Annotated[str, Form(description="Task name, as listed by GET /models.", examples=["super_resolution"])],
    params: Annotated[str, Form(description="Task params as JSON; see the <task>.Params schemas.")] = "{}",
    file: Annotated[UploadFile | None, File(description="Image or video; none for tasks that take a pose.")] = None,
    async_: Annotated[bool, Form(alias="async", description="Answer 202 at once instead of waiting.")] = False,
    timeout_s: Annotated[float | None, Form(gt=0, description="How long to wait for the result.")] = None,
) -> Response:
    """Run a task on one input. Waits for the result (200), or answers 202 with the job id."""
    started = time.perf_counter()
    status = 500
    try:
        view, status = await _predict(gw, task, params, file, async_, timeout_s)
        headers = {"Location": f"/jobs/{view.id}"} if status == 202 else None
        # Serialised here, not through response_model (which would validate the model a second time).
        return Response(view.model_dump_json(), status, headers, media_type="application/json")
    except ApiError as exc:
        status = exc.status_code
        raise
    finally:
        label = task if registry.get_spec(task) else "_unknown"
        gw.metrics.requests.labels(label, str(status)).inc()
        gw.metrics.latency.labels(label).observe(time.perf_counter() - started)


async def _predict(
    gw: Gateway,
    task: str,
    params_json: str,
    file: UploadFile | None,
    async_: bool,
    timeout_s: float | None,
) -> tuple[JobView, int]:
    queue, settings = gw.queue, gw.settings
    spec = registry.get_spec(task)
    if spec is None:
        known = sorted(registry.all_specs())
        raise UnknownTask(f"unknown task {task!r}; known tasks: {', '.join(known)}", details={"tasks": known})
    params = _validate_params(spec.params, params_json)
    data = await read_upload(spec, file, settings.max_upload_bytes, settings.max_image_pixels)
    filename = file.filename if file else None
    content_type = file.content_type if file else None
    job = await queue.enqueue(
        task,
        params,
        data,
        filename=filename,
        content_type=content_type,
        retry_after_s=settings.retry_after_s,
        notify=not async_,
    )
    if async_:
        return JobView.from_record(job), 202
    timeout = min(timeout_s or settings.default_timeout_s, settings.max_timeout_s)
    job = await queue.wait(job.id, timeout)
    if job.status.is_final:
        _raise_for_failure(job)
        return JobView.from_record(job), 200
    if job.status is JobStatus.queued and not await queue.live_workers(task, settings.worker_heartbeat_ttl_s):
        await queue.cancel(job.id)
        raise NoWorker(
            f"no worker is serving task {task!r}: waited {timeout:g} s and none picked the job up; "
            f"start one with `visionq worker --tasks {task}`. The job was cancelled.",
            retry_after_s=settings.retry_after_s,
            details={"task": task, "job_id": job.id},
        )
    return JobView.from_record(job), 202


def _validate_params(model: type[Any], params_json: str) -> dict[str, Any]:
    try:
        raw = json.loads(params_json or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidParams(f"params is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidParams(f"params must be a JSON object, got {type(raw).__name__}")
    try:
        validated = model.model_validate(raw)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "params"
        raise InvalidParams(f"{where}: {first['msg']}", details={"errors": errors}) from exc
    dumped: dict[str, Any] = validated.model_dump(mode="json")
    return dumped


def _raise_for_failure(job: JobRecord) -> None:
    if job.status is JobStatus.succeeded:
        return
    error = job.error or {"code": "internal", "message": "the job failed without a reason", "details": {}}
    details = {**error.get("details", {}), "job_id": job.id}
    if job.status is JobStatus.cancelled:
        raise JobCancelled(error["message"], details=details)
    if error["code"] in SERVER_SIDE_CODES:
        raise InferenceFailed(error["message"], code=error["code"], details=details)
    raise input_error(error["code"], error["message"], details)
