"""create_app(): the FastAPI gateway with its routers, error handlers, queue client and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.config import GatewaySettings, get_settings
from app.deps import Gateway
from app.errors import install_error_handlers
from app.metrics import GatewayMetrics
from app.queue import JobQueue
from app.routes import health, jobs, metrics, models, predict
from models import registry

logger = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.redis_url is None:
        raise RuntimeError(
            "REDIS_URL is not set: `visionq up` starts a private Redis and sets it, or point REDIS_URL at one"
        )
    registry.load_specs(settings.extra_tasks)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.gateway.queue.close()

    app = FastAPI(
        title="visionq",
        version="0.1.0",
        summary="Vision models behind one HTTP API: detection, segmentation, super-resolution, lip reading, NeRF.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    assert settings.redis_url is not None
    queue = JobQueue(
        settings.redis_url,
        settings.namespace,
        result_ttl_s=settings.result_ttl_s,
        max_queue_length=settings.max_queue_length,
        recheck_s=settings.wait_recheck_s,
    )
    app.state.gateway = Gateway(settings, queue, GatewayMetrics())
    install_error_handlers(app)
    for router in (predict.router, jobs.router, models.router, health.router, metrics.router):
        app.include_router(router)
    app.openapi = lambda: _openapi_with_task_schemas(app)  # type: ignore[method-assign]
    return app


def _openapi_with_task_schemas(app: FastAPI) -> dict[str, Any]:
    """Add each task's Params and Result models (with examples) to the OpenAPI components.

    POST /predict carries params as one JSON form field, so FastAPI cannot see the per-task models itself.
    """
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, spec in sorted(registry.all_specs().items()):
        for kind, model in (("Params", spec.params), ("Result", spec.result)):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in model_schema.pop("$defs", {}).items():
                components.setdefault(def_name, definition)
            model_schema["description"] = f"{spec.title}: {kind.lower()} of task '{name}'. {spec.description}"
            components[f"{name}.{kind}"] = model_schema
    app.openapi_schema = schema
    return schema
