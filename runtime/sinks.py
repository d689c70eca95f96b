"""Where annotated frames go: a video file, one image, a folder of images, a contact sheet.

Every output is written under a partial name (`out.partial.mp4`) and renamed when complete, so
a half-written output never looks complete; an interrupted run keeps the partial file (valid,
closed properly) under its partial name.
"""
from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from lsnet.errors import LSNetError
from lsnet.runtime.draw import write_contact_sheet
from lsnet.runtime.sources import IMAGE_SUFFIXES, SourceInfo

VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}  # what OpenCV writes without H.264 (docs/toolchain.md)


def partial_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LSNetError(f"cannot write into {folder}: {e.strerror or e}") from None


class VideoSink:
    """A video file (.mp4 → mp4v, .avi → MJPG) of the first frame's size."""

    def __init__(self, path: str | Path, fps: float):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_FOURCC:
            raise LSNetError(f"video output {self.path} must end in {' or '.join(VIDEO_FOURCC)}")
        _make_folder(self.path.parent)
        self.fps = fps
        self.partial = partial_path(self.path)
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, image: np.ndarray, name: str) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_FOURCC[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.partial), fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise LSNetError(f"cannot write video {self.partial} (OpenCV could not open it)")
        if (image.shape[1], image.shape[0]) != self.size:  # a folder of mixed sizes into one video
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1

    def close(self, complete: bool) -> Path | None:
        """Finish the file; rename it to the real name if `complete`. Returns the file kept."""
        if self.writer is None:
            return None
        self.writer.release()
        if complete:
            os.replace(self.partial, self.path)
            return self.path
        return self.partial


class ImageSink:
    """One image file (`single`), or each frame under its name in a folder; each file written whole."""

    def __init__(self, path: str | Path, single: bool = False):
        self.path, self.single = Path(path), single
        _make_folder(self.path.parent if single else self.path)
        self.frames = 0

    def write(self, image: np.ndarray, name: str) -> None:
        target = self.path if self.single else self.path / name
        partial = partial_path(target)
        try:
            written = cv2.imwrite(str(partial), image)
        except cv2.error:
            written = False
        if not written:
            partial.unlink(missing_ok=True)
            raise LSNetError(f"cannot write image {target}")
        os.replace(partial, target)
        self.frames += 1

    def close(self, complete: bool) -> Path | None:
        return self.path if self.frames else None


class ContactSheetSink:
    """A PNG grid of frames sampled evenly over the source (the last ones of a live source)."""

    def __init__(self, path: str | Path, frame_count: int | None, cells: int = 12, cell_width: int = 320):
        self.path = Path(path)
        self.stride = max(1, (frame_count or cells) // cells)
        self.cell_width = cell_width
        self.thumbnails: deque[np.ndarray] = deque(maxlen=cells)  # small copies: memory stays flat
        self.seen = 0

    def write(self, image: np.ndarray, name: str) -> None:
        if self.seen % self.stride == 0:
            height = max(1, round(image.shape[0] * self.cell_width / image.shape[1]))
            self.thumbnails.append(cv2.resize(image, (self.cell_width, height), interpolation=cv2.INTER_AREA))
        self.seen += 1

    def close(self, complete: bool) -> Path | None:
        if not self.thumbnails:
            return None
        target = self.path if complete else partial_path(self.path)
        return write_contact_sheet(target, list(self.thumbnails), cell_width=self.cell_width)


def default_output(info: SourceInfo, folder: str | Path = "runs/infer") -> Path:
    """runs/infer/NAME.mp4 for video, cameras and streams; the image's name; a folder for a folder."""
    folder = Path(folder)
    if info.kind == "image":
        return folder / f"{info.name}.jpg"
    return folder / (info.name if info.kind == "folder" else f"{info.name}.mp4")


def open_sink(out: str | Path, info: SourceInfo) -> VideoSink | ImageSink:
    """The sink `out` names: a .mp4/.avi video, an image file (one-image sources), else a folder."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in VIDEO_FOURCC:
        return VideoSink(out, info.fps or 25.0)
    if suffix in IMAGE_SUFFIXES:
        if info.kind != "image":
            raise LSNetError(f"--out {out} is one image but the source has many frames; "
                             f"give a folder or a {' or '.join(VIDEO_FOURCC)} file")
        return ImageSink(out, single=True)
    if suffix:
        raise LSNetError(f"cannot write {out}: use {' or '.join(VIDEO_FOURCC)} for video, "
                         f"an image suffix ({', '.join(IMAGE_SUFFIXES)}) for one image, or a folder")
    return ImageSink(out)
