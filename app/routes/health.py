"""Liveness and readiness, also at the Open Inference Protocol paths (/v2/health/live, /v2/health/ready)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from redis.exceptions import RedisError

from app.deps import GatewayDep
from app.schemas import ReadyView
from models import registry

router = APIRouter(tags=["health"])


@router.get("/healthz")
@router.get("/v2/health/live", operation_id="health-read_liveness_v2")
async def read_liveness() -> dict[str, str]:
    """The gateway process is up (says nothing about Redis or workers)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyView, responses={503: {"model": ReadyView}})
@router.get(
    "/v2/health/ready",
    response_model=ReadyView,
    responses={503: {"model": ReadyView}},
    operation_id="health-read_readiness_v2",
)
async def read_readiness(response: Response, gw: GatewayDep) -> ReadyView:
    """Ready when Redis answers and every task has at least one worker with a live heartbeat."""
    tasks = sorted(registry.all_specs())
    try:
        await gw.queue.ping()
        live = {t: len(await gw.queue.live_workers(t, gw.settings.worker_heartbeat_ttl_s)) for t in tasks}
    except (RedisError, OSError) as exc:
        response.status_code = 503
        return ReadyView(ready=False, redis=False, tasks={}, message=f"Redis is unreachable: {exc}")
    missing = [t for t, n in live.items() if n == 0]
    if missing:
        response.status_code = 503
        message = f"no live worker for: {', '.join(missing)}"
    else:
        message = "ready"
    return ReadyView(ready=not missing, redis=True, tasks=live, message=message)
