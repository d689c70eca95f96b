"""Where annotated frames go: a video file, one image, a folder of images, a contact sheet.

A half-written output never sits under a final name (README "Guarantees"): a video is written
under a partial name (`out.partial.mp4`) and renamed by `finish_video` only when it is complete
and its frame count, read back from the file, is the number of frames written; an interrupted
run keeps it (valid, closed properly) under the partial name, and a video that did not come out
whole (a full disk) is kept there too, with an error that says so. Images are written whole
(`lsnet.files.atomic_write`).
"""
from __future__ import annotations

import os
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from lsnet.errors import LSNetError, first_line
from lsnet.files import atomic_write, free_space, make_folder, partial_path
from lsnet.runtime.draw import write_contact_sheet
from lsnet.runtime.sources import IMAGE_SUFFIXES, SourceInfo, native_stderr_silenced

VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}  # what OpenCV writes without H.264 (docs/toolchain.md)
FOURCC_NAMES = {"mp4v": "MPEG-4 Part 2 (OpenCV mp4v)", "MJPG": "Motion JPEG (OpenCV MJPG)"}
H264 = "H.264 (libx264)"


def video_frame_count(path: Path) -> int:
    """The frame count a video file declares (0 if it cannot be opened)."""
    with native_stderr_silenced():  # FFmpeg's own complaints about a damaged file: our error says it
        capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()


def finish_video(partial: Path, final: Path, frames: int, complete: bool) -> Path:
    """The end of every video output, whatever wrote it: the closed file at `partial` holds
    `frames` frames → renamed to `final` if `complete`, else kept at `partial`. A file that does
    not read back with all its frames stays at `partial` and is an LSNetError naming it."""
    found = video_frame_count(partial) if partial.is_file() else 0
    if found != frames:
        kept = f"what was written is kept as {partial}" if partial.is_file() else "nothing was kept"
        raise LSNetError(f"the video {final} did not come out whole ({found} of {frames} frames readable; "
                         f"a full disk?): {kept}")
    if not complete:
        return partial
    os.replace(partial, final)
    return final


class _OpenCVWriter:
    """`cv2.VideoWriter` with the suffix's fourcc."""

    def __init__(self, path: Path, final: Path, fps: float, size: tuple[int, int], fourcc: str):
        # A failing write (a full disk) would print one OpenCV warning per frame; `finish_video`
        # reports it once, as an error.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if not writer.isOpened():
            writer.release()
            path.unlink(missing_ok=True)  # a header-less stub, if anything
            raise LSNetError(f"cannot write video {final}: OpenCV could not open {path.name} "
                             f"({free_space(path.parent)} free on that disk)")
        self.writer = writer

    def write(self, image: np.ndarray) -> None:
        self.writer.write(image)

    def release(self) -> None:
        self.writer.release()


class _H264Writer:
    """H.264 in yuv420p, what web browsers play, through the static ffmpeg of `imageio-ffmpeg`
    (docs/toolchain.md: OpenCV cannot write H.264 here). Its ffmpeg ignores Ctrl-C, so an
    interrupted run still closes the file properly. If ffmpeg stops (a full disk), the error is one
    line and the file it left, unreadable without its index, is removed."""

    def __init__(self, path: Path, final: Path, fps: float, size: tuple[int, int]):
        import imageio_ffmpeg

        self.path, self.final = path, final
        # yuv420p needs even sides: pad an odd one by a pixel; +faststart puts the index first for streaming.
        self.frames = imageio_ffmpeg.write_frames(
            str(path), size, pix_fmt_in="bgr24", pix_fmt_out="yuv420p", fps=fps, codec="libx264", quality=None,
            macro_block_size=1, ffmpeg_log_level="quiet",
            output_params=["-crf", "23", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart"])
        self._call(self.frames.send, None)  # starts ffmpeg

    def _call(self, step, *args) -> None:
        try:
            step(*args)
        except (OSError, RuntimeError) as e:  # ffmpeg has gone
            try:
                self.frames.close()
            except (OSError, RuntimeError):
                pass
            self._fail(first_line(e))

    def _fail(self, why: str) -> None:
        self.path.unlink(missing_ok=True)
        raise LSNetError(f"cannot write video {self.final}: ffmpeg stopped ({why}; "
                         f"{free_space(self.path.parent)} free on that disk)")

    def write(self, image: np.ndarray) -> None:
        self._call(self.frames.send, np.ascontiguousarray(image))

    def release(self) -> None:
        self._call(self.frames.close)
        if not self.path.is_file() or self.path.stat().st_size == 0:  # could not even write the header
            self._fail("it wrote nothing")


def writes_h264(path: Path) -> bool:
    """Whether a video sink writes `path` as H.264: an .mp4, with `imageio-ffmpeg` installed
    (pip install 'lsnet-trt[video]')."""
    if path.suffix.lower() != ".mp4":
        return False
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def written_size(path: Path, size: tuple[int, int]) -> tuple[int, int]:
    """(W, H) of the frames a video sink writes to `path` from frames of `size`, as they read back:
    H.264's yuv420p pads an odd side by a pixel, bottom or right (`_H264Writer`)."""
    w, h = size
    return (w + w % 2, h + h % 2) if writes_h264(path) else (w, h)


def codec_note(path: str | Path) -> str:
    """The codec a video sink writes `path` in, and whether web browsers play it."""
    path = Path(path)
    if writes_h264(path):
        return f"{path.name}: {H264}, plays in web browsers"
    hint = "; `pip install imageio-ffmpeg` writes H.264" if path.suffix.lower() == ".mp4" else ""
    return f"{path.name}: {FOURCC_NAMES[VIDEO_FOURCC[path.suffix.lower()]]}, which web browsers do not play{hint}"


class VideoSink:
    """A video file of the first frame's size: .mp4 → H.264 where `imageio-ffmpeg` is installed, else
    OpenCV's mp4v; .avi → OpenCV's MJPG. `codec` names what is written."""

    def __init__(self, path: str | Path, fps: float):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_FOURCC:
            raise LSNetError(f"video output {self.path} must end in {' or '.join(VIDEO_FOURCC)}")
        make_folder(self.path.parent)
        self.fps = fps
        self.partial = partial_path(self.path)
        self.h264 = writes_h264(self.path)
        self.codec = H264 if self.h264 else FOURCC_NAMES[VIDEO_FOURCC[suffix]]
        self.writer: _OpenCVWriter | _H264Writer | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, image: np.ndarray, name: str) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            self.writer = (_H264Writer(self.partial, self.path, self.fps, self.size) if self.h264 else
                           _OpenCVWriter(self.partial, self.path, self.fps, self.size,
                                         VIDEO_FOURCC[self.path.suffix.lower()]))
        if (image.shape[1], image.shape[0]) != self.size:  # a folder of mixed sizes into one video
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        try:
            self.writer.write(image)
        except LSNetError:
            self.writer = None  # the writer has closed and removed its file: nothing left to finish
            raise
        self.frames += 1

    def close(self, complete: bool) -> Path | None:
        """Finish the file (`finish_video`). Returns the file kept."""
        if self.writer is None:
            return None
        self.writer.release()
        self.writer = None
        return finish_video(self.partial, self.path, self.frames, complete)


class ImageSink:
    """One image file (`single`), or each frame under its name in a folder; each file written whole."""

    def __init__(self, path: str | Path, single: bool = False):
        self.path, self.single = Path(path), single
        make_folder(self.path.parent if single else self.path)
        self.frames = 0

    def write(self, image: np.ndarray, name: str) -> None:
        target = self.path if self.single else self.path / name
        try:
            encoded, data = cv2.imencode(target.suffix or ".jpg", image)
        except cv2.error:
            encoded = False
        if not encoded:
            raise LSNetError(f"cannot write image {target} (OpenCV cannot encode {target.suffix or 'it'})")
        atomic_write(target, data.tobytes())
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
