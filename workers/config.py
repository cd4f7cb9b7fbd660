"""Worker settings, read from environment variables (prefix VISIONQ_) at worker start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from workers.protocol import RedisSettings


class WorkerSettings(RedisSettings):
    model_config = SettingsConfigDict(env_prefix="VISIONQ_", extra="ignore")

    tasks: list[str] = Field(default_factory=list, description="Tasks to serve (JSON list); empty means all.")
    device: str = Field(default="auto", description="auto (cuda:0 if available, else cpu), cpu, or cuda:N.")
    max_batch_size: int = Field(default=8, ge=1, le=256, description="Most jobs one read (and one forward) takes.")
    max_batch_delay_ms: float = Field(
        default=0.0,
        ge=0,
        description="After the first job arrives, how long to wait for more. 0 takes what is queued: batches still "
        "form under load (jobs pile up while a forward runs) and an idle worker adds no latency.",
    )
    visibility_timeout_s: float = Field(
        default=30.0, gt=0, description="A job held this long by a silent worker is reclaimed by another."
    )
    max_attempts: int = Field(default=3, ge=1, description="Starts before a job is dead-lettered and failed.")
    heartbeat_interval_s: float = Field(default=2.0, gt=0, description="How often a worker says it is alive.")
    result_ttl_s: int = Field(default=3600, gt=0, description="How long results and artifacts stay in Redis.")
    torch_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="CPU threads torch may use in this worker; unset keeps torch's default (all cores). Set it "
        "when several workers share a machine so they do not oversubscribe its cores.",
    )
    weights_dir: Path | None = Field(
        default=None, description="Where official checkpoints are looked for (demo weights ship in the package)."
    )
    extra_tasks: list[str] = Field(default_factory=list, description="Extra task specs by dotted path (JSON list).")

    @field_validator("device")
    @classmethod
    def _check_device_name(cls, value: str) -> str:
        if value in ("auto", "cpu") or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"device must be auto, cpu or cuda:N; got {value!r}")
