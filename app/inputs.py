"""Checks an upload against its task before anything is queued: size, presence, decodability."""

from __future__ import annotations

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia, input_error
from models.base import InputKind, TaskSpec
from models.errors import TaskInputError
from models.imaging import probe_image
from models.video import probe_video

#: Files up to this size are probed on the event loop: a thread hop costs more than decoding them (~0.7 ms vs
#: 0.07 ms for a 1 KB PNG, measured here); bigger ones are decoded in the thread pool.
INLINE_PROBE_BYTES = 64 * 1024


async def read_upload(spec: TaskSpec, file: UploadFile | None, max_upload_bytes: int, max_pixels: int) -> bytes | None:
    """Read and validate the file a task needs; returns None for tasks that take no file.

    Raises:
        InvalidInput, PayloadTooLarge, UnsupportedMedia: with the check's code, before the job is queued.
    """
    if spec.input_kind is InputKind.none:
        if file is not None and file.filename:
            raise InvalidInput(f"task {spec.name!r} takes no file; send only params", code="unexpected_file")
        return None
    if file is None or not file.filename:
        raise InvalidInput(
            f"task {spec.name!r} needs a {spec.input_kind.value} in the 'file' field", code="missing_file"
        )
    if file.size is not None and file.size > max_upload_bytes:
        raise _too_large(file.size, max_upload_bytes)
    data = await file.read(max_upload_bytes + 1)
    if len(data) > max_upload_bytes:
        raise _too_large(len(data), max_upload_bytes)
    if spec.accepts and file.content_type not in spec.accepts and file.content_type != "application/octet-stream":
        raise UnsupportedMedia(
            f"task {spec.name!r} accepts {', '.join(spec.accepts)}; got {file.content_type}",
            details={"accepts": list(spec.accepts)},
        )
    probe = probe_image if spec.input_kind is InputKind.image else probe_video
    try:
        if len(data) <= INLINE_PROBE_BYTES:
            probe(data, max_pixels)
        else:
            await run_in_threadpool(probe, data, max_pixels)
    except TaskInputError as exc:
        raise input_error(exc.code, exc.message, exc.details) from exc
    return data


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is {size} bytes; the limit is {limit} (VISIONQ_MAX_UPLOAD_BYTES)",
        details={"max_upload_bytes": limit},
    )
