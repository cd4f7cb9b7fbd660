"""API errors and the one handler that renders them.

Our exception hierarchy:

    ApiError                      -> {"error": {"code", "message", "details"}}
      ├── InferenceFailed         500 inference_failed / abandoned (the worker's fault, not the input's)
      ├── UnknownTask             404 unknown_task
      ├── InvalidParams           422 invalid_params
      ├── InvalidInput            422 (code from the check: empty_file, corrupt_image, image_too_large, ...)
      ├── UnsupportedMedia        415 unsupported_media
      ├── PayloadTooLarge         413 payload_too_large
      ├── Unauthorized            401 unauthorized
      ├── JobNotFound             404 job_not_found
      ├── ArtifactNotFound        404 artifact_not_found
      ├── JobCancelled            409 cancelled
      ├── QueueFull               429 queue_full (Retry-After)
      ├── NoWorker                503 no_worker (Retry-After)
      └── RedisUnavailable        503 redis_unavailable (Retry-After)
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 500
    code = "internal"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, details={self.details!r})"


class InferenceFailed(ApiError):
    status_code = 500
    code = "inference_failed"


class UnknownTask(ApiError):
    status_code = 404
    code = "unknown_task"


class InvalidParams(ApiError):
    status_code = 422
    code = "invalid_params"


class InvalidInput(ApiError):
    status_code = 422
    code = "invalid_input"


class UnsupportedMedia(ApiError):
    status_code = 415
    code = "unsupported_media"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class JobNotFound(ApiError):
    status_code = 404
    code = "job_not_found"


class ArtifactNotFound(ApiError):
    status_code = 404
    code = "artifact_not_found"


class JobCancelled(ApiError):
    status_code = 409
    code = "cancelled"


class _RetryLater(ApiError):
    def __init__(self, message: str, *, retry_after_s: int, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class QueueFull(_RetryLater):
    status_code = 429
    code = "queue_full"


class NoWorker(_RetryLater):
    status_code = 503
    code = "no_worker"


class RedisUnavailable(_RetryLater):
    status_code = 503
    code = "redis_unavailable"


#: Model-side input error codes (models.errors.TaskInputError.code) -> the ApiError class that reports them.
INPUT_ERROR_TYPES: dict[str, type[ApiError]] = {
    "unsupported_media": UnsupportedMedia,
    "image_too_large": PayloadTooLarge,
}


def input_error(code: str, message: str, details: dict[str, Any] | None = None) -> ApiError:
    return INPUT_ERROR_TYPES.get(code, InvalidInput)(message, details=details, code=code)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def _api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status_code, headers=exc.headers)


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse(error_body("invalid_request", "the request is malformed", {"errors": errors}), 422)


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


async def _redis_error_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("redis unavailable: %s", exc)
    err = RedisUnavailable(f"the job queue (Redis) is unreachable: {exc}", retry_after_s=1)
    return await _api_error_handler(request, err)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(RedisConnectionError, _redis_error_handler)
    app.add_exception_handler(RedisTimeoutError, _redis_error_handler)
