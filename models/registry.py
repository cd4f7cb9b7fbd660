"""Task name -> spec (eager, torch-free) and -> implementation (lazy, imported by workers only)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from models.base import Task, TaskSpec

#: Dotted paths of the built-in task specs. Adding a task is one line here plus its subpackage.
BUILTIN_SPECS: tuple[str, ...] = (
    "models.detection.schema:SPEC",
    "models.super_resolution.schema:SPEC",
)

_specs: dict[str, TaskSpec] = {}


def _import_attr(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"expected 'package.module:attribute', got {path!r}")
    return getattr(importlib.import_module(module_name), attr)


def register(spec: TaskSpec) -> None:
    """Add a task spec; re-registering the same name replaces it (tests add test-only tasks this way)."""
    _specs[spec.name] = spec


def load_specs(extra: list[str] | tuple[str, ...] = ()) -> dict[str, TaskSpec]:
    """Register the built-in specs plus `extra` dotted paths (e.g. "tests.fixtures.tasks:NOOP_SPEC")."""
    for path in (*BUILTIN_SPECS, *extra):
        spec = _import_attr(path)
        if not isinstance(spec, TaskSpec):
            raise TypeError(f"{path} is a {type(spec).__name__}, expected a TaskSpec")
        register(spec)
    return dict(_specs)


def get_spec(name: str) -> TaskSpec | None:
    return _specs.get(name)


def all_specs() -> dict[str, TaskSpec]:
    return dict(_specs)


def weight_fetchers() -> dict[str, str]:
    return {name: spec.weights_fetcher for name, spec in _specs.items() if spec.weights_fetcher}


def fetch_weights(task: str, dest_dir: Path) -> list[Path]:
    """Download a task's official weights into `dest_dir` (imports the task's heavy modules)."""
    fetch = _import_attr(weight_fetchers()[task])
    written: list[Path] = fetch(dest_dir)
    return written


def create_task(spec: TaskSpec) -> Task[Any, Any, Any]:
    """Import and instantiate a task's implementation (pulls in torch)."""
    cls = _import_attr(spec.implementation)
    task: Task[Any, Any, Any] = cls()
    return task
