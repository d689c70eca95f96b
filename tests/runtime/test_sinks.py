"""Video sinks: browser-playable H.264 where imageio-ffmpeg is installed, OpenCV's codecs otherwise."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from lsnet.runtime.sinks import VideoSink, codec_note


def _frames(count=12, size=(97, 64)):
    w, h = size
    return [np.full((h, w, 3), 20 * i, np.uint8) for i in range(count)]


def _probe(path) -> tuple[str, int, tuple[int, int]]:
    """(fourcc, frames, (w, h)) as OpenCV reads the file back."""
    capture = cv2.VideoCapture(str(path))
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    fourcc = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    count = 0
    while capture.read()[0]:
        count += 1
    return fourcc, count, size


def test_mp4_is_h264_in_yuv420p_with_every_frame(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg (pip install 'lsnet-trt[video]') writes H.264")
    import imageio_ffmpeg

    sink = VideoSink(tmp_path / "out.mp4", 25.0)
    assert sink.codec == "H.264 (libx264)"
    for i, frame in enumerate(_frames()):
        sink.write(frame, f"frame_{i:06d}.jpg")
    assert sink.close(complete=True) == tmp_path / "out.mp4"
    fourcc, count, size = _probe(tmp_path / "out.mp4")
    assert fourcc in ("avc1", "h264") and count == 12 and size == (98, 64)  # an odd side padded by a pixel
    info = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "out.mp4")],
                          capture_output=True, text=True).stderr
    assert "Video: h264" in info and "yuv420p" in info  # what browsers play
    assert "plays in web browsers" in codec_note(tmp_path / "out.mp4")


def test_without_imageio_ffmpeg_mp4_falls_back_to_opencv_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as if not installed
    sink = VideoSink(tmp_path / "out.mp4", 25.0)
    assert sink.codec == "MPEG-4 Part 2 (OpenCV mp4v)"
    for i, frame in enumerate(_frames(size=(96, 64))):
        sink.write(frame, f"frame_{i:06d}.jpg")
    sink.close(complete=True)
    assert _probe(tmp_path / "out.mp4")[:2] in (("mp4v", 12), ("FMP4", 12))  # FFmpeg reads MPEG-4 Part 2 as FMP4
    note = codec_note(tmp_path / "out.mp4")
    assert "web browsers do not play" in note and "pip install imageio-ffmpeg" in note
    assert "Motion JPEG" in codec_note(tmp_path / "out.avi")
