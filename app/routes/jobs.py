"""Jobs: read status and result, cancel, download artifacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from app.deps import ApiKeyDep, GatewayDep
from app.schemas import ErrorBody, JobView

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[ApiKeyDep])

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id POST /predict returned.")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown or expired job (or artifact)."}
}


@router.get("/{job_id}", response_model=JobView, responses=_NOT_FOUND)
async def read_job(job_id: JobId, gw: GatewayDep) -> JobView:
    """Status, progress, timings and (when finished) the result of a job."""
    return JobView.from_record(await gw.queue.get(job_id))


@router.delete("/{job_id}", response_model=JobView, responses=_NOT_FOUND)
async def cancel_job(job_id: JobId, gw: GatewayDep) -> JobView:
    """Cancel a job that has not finished; a finished job is returned as it is."""
    return JobView.from_record(await gw.queue.cancel(job_id))


@router.get(
    "/{job_id}/artifacts/{name}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/gif": {}, "video/mp4": {}}}, **_NOT_FOUND},
)
async def read_artifact(job_id: JobId, name: str, gw: GatewayDep) -> Response:
    """The bytes of one artifact (PNG, GIF, MP4, NPY), with its media type."""
    data, media_type = await gw.queue.artifact(job_id, name)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})
