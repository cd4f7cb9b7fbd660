"""Every HTTP call the frontend makes to the gateway, and the errors it turns into readable messages.

The gateway's URL comes from VISIONQ_API_URL (default http://127.0.0.1:8000); VISIONQ_API_KEY, when set, is sent
as the X-API-Key header. Jobs are always submitted with async=true and polled, so a page can show progress.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
#: Connect/read timeout of one HTTP call; jobs themselves are polled, so no call waits for a model.
HTTP_TIMEOUT_S = 30.0
#: Job statuses after which nothing changes any more (workers/protocol.py JobStatus).
FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


class ApiError(Exception):
    """An error answer of the gateway (its JSON `{"error": {code, message, details}}`), or no answer at all."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, Any] = dict(details or {})
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return f"{self.status or '-'} {self.code}: {self.message}"


@dataclass(frozen=True)
class Upload:
    """One input file as the user picked it (uploaded or a bundled sample)."""

    name: str
    data: bytes
    media_type: str


@dataclass(frozen=True)
class Job:
    """A job as GET /jobs/{id} shows it (app/schemas.py JobView), with typed access to the fields pages use."""

    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def status(self) -> str:
        return str(self.raw["status"])

    @property
    def progress(self) -> float:
        return float(self.raw.get("progress") or 0.0)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = self.raw.get("result") or {}
        return result

    @property
    def error(self) -> dict[str, Any] | None:
        error: dict[str, Any] | None = self.raw.get("error")
        return error

    @property
    def queue_wait_ms(self) -> float | None:
        value = self.raw.get("queue_wait_ms")
        return None if value is None else float(value)

    @property
    def run_ms(self) -> float | None:
        value = self.raw.get("run_ms")
        return None if value is None else float(value)

    def artifact_urls(self) -> dict[str, str]:
        return {a["name"]: a["url"] for a in self.raw.get("artifacts", [])}

    def artifact_media_types(self) -> dict[str, str]:
        return {a["name"]: a["media_type"] for a in self.raw.get("artifacts", [])}


@dataclass
class ApiClient:
    """A small synchronous client of the gateway's HTTP API."""

    base_url: str = DEFAULT_API_URL
    api_key: str | None = None
    timeout_s: float = HTTP_TIMEOUT_S
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout_s)

    @classmethod
    def from_env(cls) -> ApiClient:
        return cls(os.environ.get("VISIONQ_API_URL") or DEFAULT_API_URL, os.environ.get("VISIONQ_API_KEY") or None)

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """GET /healthz: the gateway process is up."""
        return self._json("GET", "/healthz")

    def readiness(self) -> dict[str, Any]:
        """GET /readyz: Redis reachable and live workers per task; a 503 still carries the same body."""
        return self._json("GET", "/readyz", ok=(200, 503))

    def models(self) -> list[dict[str, Any]]:
        """GET /models: one entry per task, with workers, models, queue length and `params_schema`."""
        tasks: list[dict[str, Any]] = self._json("GET", "/models")["tasks"]
        return tasks

    def task(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.models() if t["name"] == name), None)

    def metrics(self) -> str:
        """GET /metrics in the Prometheus text format."""
        return self._request("GET", "/metrics").text

    def submit(self, task: str, params: Mapping[str, Any], upload: Upload | None = None) -> Job:
        """POST /predict with async=true: the job is queued and returned at once (202)."""
        form = {"task": task, "params": json.dumps(dict(params)), "async": "true"}
        files = None if upload is None else {"file": (upload.name, upload.data, upload.media_type)}
        return Job(self._json("POST", "/predict", data=form, files=files, ok=(200, 202)))

    def job(self, job_id: str) -> Job:
        return Job(self._json("GET", f"/jobs/{job_id}"))

    def cancel(self, job_id: str) -> Job:
        return Job(self._json("DELETE", f"/jobs/{job_id}"))

    def artifact(self, url: str) -> bytes:
        """The bytes of one artifact, by the `url` the job lists (e.g. /jobs/{id}/artifacts/annotated)."""
        return self._request("GET", url).content

    def _json(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, ok=ok, **kwargs)
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise ApiError("bad_response", f"{path} did not answer JSON: {response.text[:200]!r}") from exc
        return body

    def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiError(
                "gateway_timeout", f"the gateway at {self.base_url} did not answer {method} {path} in time"
            ) from exc
        except httpx.TransportError as exc:
            raise ApiError(
                "gateway_unreachable",
                f"cannot reach the gateway at {self.base_url} ({exc}). Is it running? Set VISIONQ_API_URL to its URL.",
            ) from exc
        if response.status_code not in ok:
            raise _error_from(response)
        return response


def _error_from(response: httpx.Response) -> ApiError:
    retry_after = response.headers.get("Retry-After")
    retry_after_s = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
    try:
        error = response.json()["error"]
        code, message, details = str(error["code"]), str(error["message"]), error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{response.status_code}", response.text[:300] or response.reason_phrase, {}
    return ApiError(code, message, status=response.status_code, details=details, retry_after_s=retry_after_s)
