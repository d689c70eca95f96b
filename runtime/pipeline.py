"""Frames through a detector: a reader thread → inference and drawing (the calling thread) → a
writer thread, joined by bounded queues, so memory stays flat on an endless stream.

Ctrl-C (SIGINT) stops the reading; the frames already read are still run, drawn and written, and
every output is closed properly, under its partial name (`lsnet.runtime.sinks`). A second Ctrl-C
skips that drain. An error in a worker thread ends the run and is raised here as `LSNetError`.
"""
from __future__ import annotations

import queue
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lsnet.errors import LSNetError
from lsnet.interrupt import stop_on_first_sigint
from lsnet.runtime.detector import Detector
from lsnet.runtime.draw import DISPLAY_SCORE, DUPLICATE_IOU, displayed, draw_detections, draw_status
from lsnet.runtime.sources import Frame

END = object()  # the last item of a queue
POLL_SECONDS = 0.1  # how often a blocked put looks whether its consumer is still there
TIMED_BATCHES = 1000  # stage medians over the last batches only: an endless stream keeps no growing list


@dataclass
class PipelineResult:
    frames: int
    seconds: float
    complete: bool  # False: interrupted or failed; `outputs` then have partial names
    outputs: list[Path] = field(default_factory=list)  # what the sinks kept
    stage_ms: dict[str, float] = field(default_factory=dict)  # per-batch medians: pre, model, post, …
    label_counts: Counter = field(default_factory=Counter)  # class name → detections drawn

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class FpsMeter:
    """Frames per second over the last `window` batches."""

    def __init__(self, window: int = 30):
        self.marks: deque[tuple[float, int]] = deque(maxlen=window)
        self.frames = 0

    def add(self, frames: int) -> None:
        self.frames += frames
        self.marks.append((time.perf_counter(), self.frames))

    @property
    def fps(self) -> float:
        if len(self.marks) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self.marks[0], self.marks[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


class _Worker(threading.Thread):
    """A daemon thread that keeps its exception for the main thread instead of printing it."""

    def __init__(self, role: str, work: Callable, *args):
        super().__init__(name=f"lsnet-{role}", daemon=True)
        self.role, self.work, self.args = role, work, args
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.work(*self.args)
        except BaseException as e:  # handed to the main thread, which raises it
            self.error = e

    def failure(self) -> LSNetError:
        if isinstance(self.error, LSNetError):
            return self.error
        return LSNetError(f"the {self.role} thread failed: {type(self.error).__name__}: {self.error}")


def _put(q: queue.Queue, item, keep_trying: Callable[[], bool]) -> bool:
    """Blocking put that gives up (False) once its consumer is gone, so no thread waits forever."""
    while keep_trying():
        try:
            q.put(item, timeout=POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _read_frames(source, frames: queue.Queue, stop: threading.Event, abandoned: threading.Event) -> None:
    def consumer_waits() -> bool:
        return not abandoned.is_set()

    try:
        for frame in source:
            if stop.is_set() or not _put(frames, frame, consumer_waits):
                break
    finally:
        _put(frames, END, consumer_waits)


def _write_frames(sinks: list, drawn: queue.Queue) -> None:
    while (item := drawn.get()) is not END:
        for sink in sinks:
            sink.write(*item)


def _take_batch(frames: queue.Queue, size: int) -> tuple[list[Frame], bool]:
    """Up to `size` frames, and whether the reader has ended."""
    batch: list[Frame] = []
    while len(batch) < size:
        item = frames.get()
        if item is END:
            return batch, True
        batch.append(item)
    return batch, False


def _draw(detector: Detector, frames: list[Frame], score: float, duplicate_iou: float | None, fps: float | None,
          counts: Counter) -> None:
    """Runs the model on a batch and draws on the frames in place; counts the drawn classes."""
    for frame, found in zip(frames, detector.predict([f.image for f in frames])):
        shown = displayed(found, score, duplicate_iou)
        counts.update(shown.label_names())
        draw_detections(frame.image, shown, score=score, duplicate_iou=None, inplace=True)
        if fps is not None:
            draw_status(frame.image, f"{fps:.1f} FPS")


def run_pipeline(detector: Detector, source, sinks: list, *, batch: int = 1, score: float = DISPLAY_SCORE,
                 duplicate_iou: float | None = DUPLICATE_IOU, show_fps: bool = False, log: Callable[[str], None] | None = None, queue_size: int = 4,
                 log_interval: float = 2.0) -> PipelineResult:
    """Run `detector` over every frame of `source` (`lsnet.runtime.sources`), draw the detections
    `lsnet.runtime.draw.displayed` keeps (score ≥ `score`, no other class's duplicate at box IoU ≥
    `duplicate_iou`), and write each drawn frame to every sink (`lsnet.runtime.sinks`).

    `log` gets a progress line with the live FPS every `log_interval` seconds.
    """
    log = log or (lambda line: None)
    frames: queue.Queue = queue.Queue(maxsize=max(queue_size, batch))
    drawn: queue.Queue = queue.Queue(maxsize=queue_size)
    stop, abandoned = threading.Event(), threading.Event()
    reader = _Worker("reader", _read_frames, source, frames, stop, abandoned)
    writer = _Worker("writer", _write_frames, sinks, drawn)
    meter, timings, counts = FpsMeter(), deque(maxlen=TIMED_BATCHES), Counter()
    total = f"/{source.info.frame_count}" if source.info.frame_count else ""
    failure: BaseException | None = None
    start = last_log = time.perf_counter()
    with stop_on_first_sigint(stop):
        reader.start()
        writer.start()
        try:
            ended, stopping = False, False
            while not ended:
                batch_frames, ended = _take_batch(frames, batch)
                if not batch_frames:
                    break
                _draw(detector, batch_frames, score, duplicate_iou, meter.fps if show_fps else None, counts)
                timings.append(detector.timings)
                meter.add(len(batch_frames))
                for frame in batch_frames:
                    if not _put(drawn, (frame.image, frame.name), writer.is_alive):
                        raise writer.failure()
                if stop.is_set() and not stopping:
                    stopping = True
                    log("stopping: finishing the frames already read (Ctrl-C again to stop now)")
                if time.perf_counter() - last_log >= log_interval:
                    last_log = time.perf_counter()
                    log(f"frame {meter.frames}{total}  {meter.fps:.1f} FPS")
        except KeyboardInterrupt:  # a second Ctrl-C: no drain
            stop.set()
        except BaseException as e:
            failure = e
        abandoned.set()  # nothing reads the frame queue any more
        _put(drawn, END, writer.is_alive)
        writer.join()
        reader.join(timeout=5.0)  # a stream's read can block; the thread is a daemon
        if not reader.is_alive():
            source.close()
    seconds = time.perf_counter() - start
    failure = failure or next((w.failure() for w in (writer, reader) if w.error), None)
    complete = failure is None and not stop.is_set()
    outputs = []
    for sink in sinks:  # every sink is closed, even when another fails to
        try:
            kept = sink.close(complete)
        except LSNetError as e:
            failure = failure or e
        else:
            outputs += [kept] if kept is not None else []
    if isinstance(failure, LSNetError) and outputs:
        raise LSNetError(f"{failure} (the frames done are in {', '.join(map(str, outputs))})") from failure
    if failure is not None:
        raise failure
    stage_ms = {key: 1000 * statistics.median(t[key] for t in timings) for key in (timings[-1] if timings else {})}
    return PipelineResult(meter.frames, seconds, complete, outputs, stage_ms, counts)
