"""Gateway settings, read from environment variables (prefix VISIONQ_) once, at the edge."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from workers.protocol import RedisSettings


class GatewaySettings(RedisSettings):
    model_config = SettingsConfigDict(env_prefix="VISIONQ_", extra="ignore")

    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Largest accepted upload; larger ones get 413."
    )
    max_image_pixels: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest accepted image in pixels (w*h); tasks resize or tile what they accept.",
    )
    default_timeout_s: float = Field(default=60.0, gt=0, description="How long POST /predict waits by default.")
    max_timeout_s: float = Field(default=600.0, gt=0, description="Upper bound of the timeout_s a caller may ask.")
    max_queue_length: int = Field(
        default=256, gt=0, description="Jobs (queued + running) per task before POST /predict answers 429."
    )
    retry_after_s: int = Field(default=1, ge=1, description="Retry-After sent with 429 and 503 answers.")
    result_ttl_s: int = Field(
        default=3600, gt=0, description="How long inputs, job records and artifacts stay in Redis."
    )
    wait_recheck_s: float = Field(
        default=4.0,
        gt=0,
        le=60,
        description="A waiting POST /predict re-reads its job this often, in case its Pub/Sub notification was lost.",
    )
    worker_heartbeat_ttl_s: float = Field(
        default=10.0, gt=0, description="A worker whose last heartbeat is older than this counts as gone."
    )
    api_key: str | None = Field(
        default=None, description="If set, every request except health checks needs header X-API-Key."
    )
    extra_tasks: list[str] = Field(
        default_factory=list,
        description='Extra task specs by dotted path, as a JSON list (e.g. ["tests.fixtures.tasks:NOOP_SPEC"]).',
    )

    @field_validator("api_key")
    @classmethod
    def _refuse_short_api_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("VISIONQ_API_KEY must be at least 16 characters (or unset to disable auth)")
        return value


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
