"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.deps import GatewayDep
from app.metrics import render_metrics
from models import registry

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def read_metrics(gw: GatewayDep) -> Response:
    """Request, queue, batch and compute metrics of the whole deployment (see the README for names)."""
    tasks = sorted(registry.all_specs())
    stats = {t: await gw.queue.stats(t) for t in tasks}
    pending = {t: await gw.queue.queue_length(t) for t in tasks}
    workers = {t: len(await gw.queue.live_workers(t, gw.settings.worker_heartbeat_ttl_s)) for t in tasks}
    return Response(render_metrics(gw.metrics, stats, pending, workers), media_type=CONTENT_TYPE_LATEST)
