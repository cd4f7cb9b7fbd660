"""Torch-free video probing shared by the gateway (validation) and video tasks."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

from models.errors import TaskInputError


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    frames: int  # as the container reports it; 0 when unknown
    fps: float


def probe_video(data: bytes, max_pixels: int) -> VideoInfo:
    """Open the container, find a video stream and decode its first frame.

    Raises:
        TaskInputError: "empty_file", "unsupported_media" (not a video), "corrupt_video", "image_too_large".
    """
    if not data:
        raise TaskInputError("the uploaded file is empty", code="empty_file")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise TaskInputError("the file has no video stream", code="unsupported_media")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > max_pixels:
                raise TaskInputError(
                    f"video frames are {width}x{height}; the limit is {max_pixels} pixels", code="image_too_large"
                )
            first = next(container.decode(stream), None)
            if first is None:
                raise TaskInputError("the video has no decodable frame", code="corrupt_video")
            fps = float(stream.average_rate) if stream.average_rate else 0.0
            return VideoInfo(stream.codec_context.name, width, height, int(stream.frames or 0), fps)
    except TaskInputError:
        raise
    except av.error.InvalidDataError as exc:
        raise TaskInputError("the file is not a video PyAV can read", code="unsupported_media") from exc
    except (av.error.FFmpegError, ValueError, StopIteration) as exc:
        raise TaskInputError(f"the video is corrupt or truncated: {exc}", code="corrupt_video") from exc
