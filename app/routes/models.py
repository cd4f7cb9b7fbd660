"""GET /models: tasks, their models and weight sources, live workers, queue lengths, param schemas."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ApiKeyDep, GatewayDep
from app.schemas import ModelsView, ModelView, TaskView, WorkerView
from models import registry

router = APIRouter(tags=["models"], dependencies=[ApiKeyDep])


@router.get("/models", response_model=ModelsView)
async def list_models(gw: GatewayDep) -> ModelsView:
    """Every task the gateway accepts, with what the live workers serve for it."""
    tasks = []
    for name, spec in sorted(registry.all_specs().items()):
        workers = await gw.queue.live_workers(name, gw.settings.worker_heartbeat_ttl_s)
        models = workers[0]["models"].get(name, []) if workers else []
        tasks.append(
            TaskView(
                name=name,
                title=spec.title,
                description=spec.description,
                input_kind=spec.input_kind.value,
                queue_length=await gw.queue.queue_length(name),
                workers=[WorkerView(**{k: w[k] for k in WorkerView.model_fields if k in w}) for w in workers],
                models=[ModelView(**m) for m in models],
                params_schema=spec.params.model_json_schema(),
            )
        )
    return ModelsView(tasks=tasks)
