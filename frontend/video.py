"""Videos the browser can play: MPEG-1/AVI/... uploads are transcoded to H.264 MP4 (PyAV) before st.video.

Browsers play H.264 (and VP8/VP9/AV1 in WebM) but not the GRID corpus's MPEG-1 `.mpg`, so the lip-reading page
shows `browser_video(upload)` rather than the upload itself.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av

#: (container, codec) pairs every current browser plays as they are.
_PLAYABLE = {("mp4", "h264"), ("mov,mp4,m4a,3gp,3g2,mj2", "h264"), ("webm", "vp8"), ("webm", "vp9"), ("webm", "av1")}
#: H.264 quality for previews (x264 CRF; 23 is its default, lower is better and larger).
PREVIEW_CRF = 23


def is_browser_playable(data: bytes) -> bool:
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            return (container.format.name, stream.codec_context.name) in _PLAYABLE
    except (av.FFmpegError, IndexError):
        return False


def browser_video(data: bytes) -> bytes:
    """`data` if the browser plays it already, else the same frames as an H.264 MP4 (even width and height)."""
    if is_browser_playable(data):
        return data
    out = io.BytesIO()
    with av.open(io.BytesIO(data), mode="r") as source, av.open(out, mode="w", format="mp4") as target:
        video = source.streams.video[0]
        rate = video.average_rate or Fraction(25)
        stream = target.add_stream("libx264", rate=rate)
        stream.width = video.codec_context.width // 2 * 2
        stream.height = video.codec_context.height // 2 * 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(PREVIEW_CRF)}
        for frame in source.decode(video):
            image = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            image.pts = None
            target.mux(stream.encode(image))
        target.mux(stream.encode(None))
    return out.getvalue()
