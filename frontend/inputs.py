"""The input widget of every task page: an uploader plus the task's bundled samples, one click away.

Samples live in `frontend/samples/<task>/` (see its README); any image or video file there becomes a button.
Whichever the user touched last (an upload or a sample button) is the input.
"""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path

import streamlit as st
from PIL import Image

from frontend.client import Upload

SAMPLES_DIR = Path(__file__).with_name("samples")
IMAGE_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff")
VIDEO_TYPES: tuple[str, ...] = ("mp4", "mpg", "mpeg", "avi", "webm", "mov", "gif")
#: Width of the chosen image's preview; the result beside it is shown large.
PREVIEW_WIDTH_PX = 320
#: Extensions mimetypes does not know everywhere (Debian's /etc/mime.types may be missing in a slim image).
_MEDIA_TYPES = {"png": "image/png", "webp": "image/webp", "mpg": "video/mpeg", "webm": "video/webm"}


def media_type(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower()
    return _MEDIA_TYPES.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def sample_files(task: str, types: tuple[str, ...]) -> list[Path]:
    """The task's sample files with one of `types` as extension, sorted by name."""
    folder = SAMPLES_DIR / task
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower().lstrip(".") in types)


def load_sample(task: str, name: str) -> Upload:
    path = SAMPLES_DIR / task / name
    return Upload(path.name, path.read_bytes(), media_type(path.name))


def input_picker(task: str, input_kind: str, *, key: str, preview: bool = True) -> Upload | None:
    """Uploader and sample buttons; returns the chosen input (None until the user picks one).

    Args:
        task: task name; its samples are read from `frontend/samples/<task>/`.
        input_kind: "image" or "video" (GET /models `input_kind`): which files the uploader accepts.
        key: widget-key prefix, unique per page.
        preview: show the chosen image below the picker.
    """
    types = VIDEO_TYPES if input_kind == "video" else IMAGE_TYPES
    source_key = f"{key}:source"

    def picked_upload() -> None:
        st.session_state[source_key] = "upload"

    uploaded = st.file_uploader(
        f"Upload an {input_kind}", type=list(types), key=f"{key}:upload", on_change=picked_upload
    )
    samples = sample_files(task, types)
    if samples:
        st.caption("…or use a sample:")
        for column, path in zip(st.columns(len(samples)), samples, strict=True):
            with column:
                if input_kind == "image":
                    st.image(str(path), width="stretch")
                st.button(
                    path.stem,
                    help=f"Use {path.name}",
                    key=f"{key}:sample:{path.name}",
                    on_click=st.session_state.__setitem__,
                    args=(source_key, f"sample:{path.name}"),
                    width="stretch",
                )
    source = st.session_state.get(source_key, "")
    chosen: Upload | None = None
    if source == "upload" and uploaded is not None:
        chosen = Upload(uploaded.name, uploaded.getvalue(), uploaded.type or media_type(uploaded.name))
    elif source.startswith("sample:"):
        chosen = load_sample(task, source.removeprefix("sample:"))
    if chosen is not None:
        st.caption(f"Input: **{chosen.name}** ({len(chosen.data) / 1024:.0f} KiB)")
        if preview and input_kind == "image":
            _preview(chosen)
    return chosen


def _preview(upload: Upload) -> None:
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            image.thumbnail((2 * PREVIEW_WIDTH_PX, 2 * PREVIEW_WIDTH_PX))
            st.image(image.convert("RGB"), width=PREVIEW_WIDTH_PX)
    except (OSError, ValueError, Image.DecompressionBombError):
        # The gateway gives the authoritative answer (and a readable error) when the image is run.
        st.warning(f"Cannot preview {upload.name}: it does not decode as an image here.")
