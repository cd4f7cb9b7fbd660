"""The README's environment-variable table, generated from the settings classes (a test keeps them equal).

python -m app.envdoc    # prints the markdown table
"""

from __future__ import annotations

import json

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from app.config import GatewaySettings
from workers.config import WorkerSettings
from workers.protocol import RedisSettings


def _env_name(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if alias is not None and hasattr(alias, "choices"):
        return " / ".join(str(c) for c in alias.choices)
    prefix = cls.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return f"`{json.dumps(field.default_factory())}`"  # type: ignore[call-arg]
    return "unset" if field.default is None else f"`{field.default}`"


def env_table() -> str:
    rows = ["| variable | used by | default | meaning |", "|---|---|---|---|"]
    seen: set[str] = set()
    for cls, who in ((RedisSettings, "all"), (GatewaySettings, "gateway"), (WorkerSettings, "worker")):
        for name, field in cls.model_fields.items():
            env = _env_name(cls, name, field)
            key = f"{env}|{who}"
            if name in RedisSettings.model_fields and cls is not RedisSettings or key in seen:
                continue
            seen.add(key)
            rows.append(f"| `{env}` | {who} | {_default(field)} | {field.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(env_table())  # noqa: T201 (CLI output)
