"""Uploaded videos the browser cannot play (MPEG-1, as the GRID corpus ships) are shown as H.264 MP4."""

from __future__ import annotations

import io

import av
import numpy as np

from frontend.video import browser_video, is_browser_playable


def _clip(container: str, codec: str, size: tuple[int, int] = (64, 48), frames: int = 6) -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as target:
        stream = target.add_stream(codec, rate=25)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            rgb = np.full((size[1], size[0], 3), i * 40, np.uint8)
            target.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        target.mux(stream.encode(None))
    return out.getvalue()


def test_mpeg1_is_transcoded_to_h264_mp4_with_every_frame() -> None:
    mpg = _clip("mpeg", "mpeg1video")
    assert not is_browser_playable(mpg)
    mp4 = browser_video(mpg)
    assert is_browser_playable(mp4)
    with av.open(io.BytesIO(mp4), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(stream)) == 6


def test_h264_mp4_is_passed_through_untouched() -> None:
    mp4 = _clip("mp4", "libx264")
    assert browser_video(mp4) is mp4
    assert not is_browser_playable(b"not a video")
