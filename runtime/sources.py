"""Where frames come from: an image file, a folder of images, a video file, a camera index or a
stream URL, as one iterator of `Frame`s with what is known about the source (fps, size, length).

`open_source` checks the source at once (it reads the first frame of a video or camera), so bad
input is a one-line `LSNetError` before any model work starts.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice, takewhile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from lsnet.errors import LSNetError, warn

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


@dataclass
class Frame:
    index: int  # 0-based position in the source
    image: np.ndarray  # BGR uint8
    name: str  # file name to write it under: the image's own, or frame_000123.jpg for video


@dataclass
class SourceInfo:
    kind: str  # image | folder | video | camera | stream
    name: str  # a short name for outputs: file stem, folder name, camera0, stream
    fps: float | None = None
    size: tuple[int, int] | None = None  # (W, H) when all frames share it
    frame_count: int | None = None  # None for cameras and live streams


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise LSNetError(f"{path} is not a readable image (not an image file, or a format OpenCV cannot read)")
    return image


class ImageSource:
    """One image file or the images of a folder, in name order, read one at a time.

    In a folder, a file that is not a readable image is skipped with a warning and listed in
    `skipped`; one image given alone must be readable."""

    def __init__(self, paths: list[Path], info: SourceInfo):
        self.paths, self.info = paths, info
        self.skipped: list[Path] = []

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            try:
                image = read_image(path)
            except LSNetError:
                if self.info.kind != "folder":
                    raise
                self.skipped.append(path)
                warn(f"skipped {path}: not a readable image")
                continue
            yield Frame(index, image, path.name)

    @property
    def missing_frames(self) -> int:
        return 0

    def close(self) -> None:
        pass


class CaptureSource:
    """A video file, camera or stream through `cv2.VideoCapture`, first frame already read."""

    def __init__(self, capture: cv2.VideoCapture, first: np.ndarray, info: SourceInfo):
        self.capture, self.first, self.info = capture, first, info
        self.skipped: list[Path] = []
        self.decoded = 0  # frames read so far
        self.ended = False  # the capture gave no more frames (not stopped early by the caller)

    def __iter__(self) -> Iterator[Frame]:
        image, index = self.first, 0
        while image is not None:
            self.decoded = index + 1
            yield Frame(index, image, f"frame_{index:06d}.jpg")
            ok, image = self.capture.read()
            image, index = (image if ok else None), index + 1
        self.ended = True

    @property
    def missing_frames(self) -> int:
        """Frames a video file declares but did not give before it ended (a damaged file)."""
        if not (self.ended and self.info.frame_count):
            return 0
        return max(0, self.info.frame_count - self.decoded)

    def close(self) -> None:
        self.capture.release()


@contextmanager
def native_stderr_silenced():
    """Mutes what C libraries (FFmpeg, V4L2, OpenCV's logger) print on file descriptor 2 while
    opening a capture: for unreadable input our LSNetError says it in one line."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _open_capture(target: str | int, kind: str, name: str, what: str, why: str) -> CaptureSource:
    """`what` names the source in messages; `why` lists what may be wrong when it does not open."""
    with native_stderr_silenced():
        try:
            capture = cv2.VideoCapture(target)
        except (OverflowError, cv2.error):  # e.g. a camera index beyond what the OS can number
            raise LSNetError(f"cannot open {what} ({why})") from None
        ok, first = capture.read() if capture.isOpened() else (False, None)
    if not capture.isOpened():
        raise LSNetError(f"cannot open {what} ({why})")
    if not ok:
        capture.release()
        raise LSNetError(f"{what} gives no frames (empty or unreadable)")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS)
    info = SourceInfo(kind, name, fps=fps if fps > 0 else None, size=(first.shape[1], first.shape[0]),
                      frame_count=count if kind == "video" and count > 0 else None)
    return CaptureSource(capture, first, info)


def open_source(spec: str) -> ImageSource | CaptureSource:
    """An image file, a folder of images, a video file, a camera index ("0") or a stream URL."""
    spec = str(spec)
    if spec.isdigit():
        return _open_capture(int(spec), "camera", f"camera{spec}", f"camera {spec}", "no such device, or in use")
    scheme = spec.split("://", 1)[0].lower() if "://" in spec else ""
    if scheme in STREAM_SCHEMES:
        return _open_capture(spec, "stream", "stream", f"stream {spec}",
                             "unreachable, or a protocol this OpenCV cannot read")
    path = Path(spec)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not images:
            raise LSNetError(f"folder {path} has no images ({', '.join(IMAGE_SUFFIXES)})")
        return ImageSource(images, SourceInfo("folder", path.resolve().name, frame_count=len(images)))
    if not path.is_file():
        raise LSNetError(f"source {spec} not found (expected an image, a folder of images, a video file, "
                         "a camera index or a stream URL)")
    if path.suffix.lower() in IMAGE_SUFFIXES or cv2.haveImageReader(str(path)):
        image = read_image(path)  # checked now, and read once more when iterated: one image is cheap
        return ImageSource([path], SourceInfo("image", path.stem, size=(image.shape[1], image.shape[0]),
                                             frame_count=1))
    return _open_capture(str(path), "video", path.stem, f"video {path}",
                         "empty, not a video, or a format OpenCV cannot read")


class FirstFrames:
    """The first `count` frames of a source (e.g. a short stretch of a long video to time), and
    only those read within `seconds` of the first, if given."""

    def __init__(self, source, count: int, seconds: float | None = None):
        self.source, self.count, self.seconds = source, count, seconds
        total = source.info.frame_count
        self.info = replace(source.info, frame_count=count if total is None else min(total, count))

    def __iter__(self) -> Iterator[Frame]:
        frames = islice(iter(self.source), self.count)
        if self.seconds is None:
            return frames
        deadline = time.perf_counter() + self.seconds
        return takewhile(lambda frame: frame.index == 0 or time.perf_counter() < deadline, frames)

    def close(self) -> None:
        self.source.close()
