"""Errors a task raises about its input; the worker records them on the job.

The gateway maps `TaskInputError.code` to an HTTP status, so codes are stable strings.
"""

from __future__ import annotations

from typing import Any


class TaskInputError(ValueError):
    """The item cannot be processed as given (corrupt file, size out of range, bad combination of params)."""

    def __init__(self, message: str, *, code: str = "invalid_input", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def __repr__(self) -> str:
        return f"TaskInputError(code={self.code!r}, message={self.message!r})"
