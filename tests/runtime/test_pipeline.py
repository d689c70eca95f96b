"""The threaded reader → model → writer pipeline and its outputs (real exported model)."""
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime import load
from lsnet.runtime.pipeline import FpsMeter, run_pipeline
from lsnet.runtime.sinks import ContactSheetSink, ImageSink, VideoSink, open_sink
from lsnet.runtime.sources import SourceInfo, open_source


def _frame_count(path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture(scope="module")
def detector(small_onnx):
    return load(small_onnx)


def test_a_video_comes_out_as_a_readable_video_with_every_frame(detector, synthetic_video, tmp_path):
    out = tmp_path / "out" / "drawn.mp4"
    sheet = tmp_path / "sheet.png"
    source = open_source(str(synthetic_video))
    result = run_pipeline(detector, source, [VideoSink(out, 25.0), ContactSheetSink(sheet, 12, cells=4)], batch=2)
    assert result.complete and result.frames == 12 and result.outputs == [out, sheet]
    assert _frame_count(out) == 12 and not (tmp_path / "out" / "drawn.partial.mp4").exists()
    assert cv2.imread(str(sheet)).shape[1] == 4 * 320
    assert {"pre", "model", "post"} <= set(result.stage_ms) and result.fps > 0


def test_a_folder_comes_out_as_a_folder_of_drawn_images(detector, tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for name in ("a.png", "b.jpg"):
        cv2.imwrite(str(images / name), np.full((50, 70, 3), 128, np.uint8))
    source = open_source(str(images))
    result = run_pipeline(detector, source, [open_sink(tmp_path / "drawn", source.info)])
    assert result.complete and sorted(os.listdir(tmp_path / "drawn")) == ["a.png", "b.jpg"]
    assert cv2.imread(str(tmp_path / "drawn" / "a.png")).shape == (50, 70, 3)


class _BrokenStream:
    """A source that gives one frame, then fails as a dropped network stream does."""

    info = SourceInfo("stream", "stream")

    def __iter__(self):
        from lsnet.runtime.sources import Frame

        yield Frame(0, np.zeros((40, 40, 3), np.uint8), "frame_000000.jpg")
        raise LSNetError("stream rtsp://camera dropped")

    def close(self):
        pass


def test_an_error_in_the_reader_reaches_the_caller_and_the_output_stays_partial(detector, tmp_path):
    out = tmp_path / "drawn.avi"
    with pytest.raises(LSNetError, match=r"stream rtsp://camera dropped .*frames done are in .*drawn\.partial\.avi"):
        run_pipeline(detector, _BrokenStream(), [VideoSink(out, 5.0)])
    assert not out.exists() and _frame_count(tmp_path / "drawn.partial.avi") == 1


class _FailingSink:
    """An output that breaks after two frames, as a full disk would."""

    def __init__(self):
        self.frames = 0

    def write(self, image, name):
        if self.frames == 2:
            raise OSError(28, "No space left on device")
        self.frames += 1

    def close(self, complete):
        return None


def test_an_error_in_the_writer_reaches_the_caller(detector, synthetic_video):
    with pytest.raises(LSNetError, match=r"the writer thread failed: OSError: .*No space left on device"):
        run_pipeline(detector, open_source(str(synthetic_video)), [_FailingSink()])


def test_outputs_that_cannot_be_written_are_refused_before_running(tmp_path):
    video = SourceInfo("video", "v", fps=25.0, frame_count=10)
    with pytest.raises(LSNetError, match=r"use \.mp4 or \.avi for video"):
        open_sink(tmp_path / "out.mkv", video)
    with pytest.raises(LSNetError, match=r"is one image but the source has many frames"):
        open_sink(tmp_path / "out.png", video)
    assert isinstance(open_sink(tmp_path / "out.avi", video), VideoSink)
    assert isinstance(open_sink(tmp_path / "frames", video), ImageSink)


def test_the_fps_meter_counts_frames_per_second_over_its_window():
    meter = FpsMeter(window=3)
    assert meter.fps == 0.0
    for _ in range(5):
        meter.add(2)
        time.sleep(0.02)
    assert meter.frames == 10 and 40 < meter.fps < 110  # 2 frames per ~20 ms


class _CountingSource:
    """The real video source, counting how many frames the reader thread has taken."""

    def __init__(self, source):
        self.source, self.info, self.taken = source, source.info, 0

    def __iter__(self):
        for frame in self.source:
            self.taken += 1
            yield frame

    def close(self):
        self.source.close()


class _SlowedDown:
    """The real detector, 50 ms slower per call: the reader then runs ahead as far as the queues let it."""

    def __init__(self, detector, source):
        self.detector, self.source, self.taken_at_call = detector, source, []

    def __getattr__(self, name):
        return getattr(self.detector, name)

    def predict(self, images):
        self.taken_at_call.append(self.source.taken)
        time.sleep(0.05)
        return self.detector.predict(images)


def test_the_reader_runs_ahead_of_the_model_by_the_queue_size_only(detector, synthetic_video, tmp_path):
    source = _CountingSource(open_source(str(synthetic_video)))
    slowed = _SlowedDown(detector, source)
    run_pipeline(slowed, source, [VideoSink(tmp_path / "o.mp4", 25.0)], queue_size=2)
    ahead = [taken - call for call, taken in enumerate(slowed.taken_at_call)]
    assert len(ahead) == 12 and max(ahead) <= 2 + 1 + 1  # queued, in the reader's hand, the one being run
    assert max(ahead) >= 2  # it did run ahead: the bound was reached, not just never tested


def _peak_rss_of_infer(model, video, out) -> float:
    """Peak RSS (MB) of a whole `lsnet infer` run in a fresh process."""
    # VmHWM, not getrusage's ru_maxrss: that one keeps the forking pytest process's peak across exec.
    script = ("import re, sys; from lsnet.cli import main; code = main(sys.argv[1:]); "
              "status = open('/proc/self/status').read(); "
              "print('peak_rss_mb', int(re.search(r'VmHWM:\\s*(\\d+)', status).group(1)) / 1024); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script, "infer", str(model), str(video), "--out", str(out),
                             "--quiet", "--threads", "1"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.split("peak_rss_mb")[1])


@pytest.mark.slow
def test_memory_stays_flat_on_a_long_stream(small_onnx, tmp_path):
    """Ten times the frames, the same peak memory (slow: 2,200 model calls)."""
    from lsnet.data.video import write_video

    peaks = {}
    for frames in (200, 2000):
        video = write_video(tmp_path / f"{frames}.avi", "bbox", frames=frames, size=(128, 96))
        peaks[frames] = _peak_rss_of_infer(small_onnx, video, tmp_path / f"out{frames}.avi")
        assert _frame_count(tmp_path / f"out{frames}.avi") == frames
    print(f"peak RSS: {peaks[200]:.1f} MB at 200 frames, {peaks[2000]:.1f} MB at 2,000 frames")
    assert peaks[2000] < peaks[200] + 20  # MB: a leak of 10 kB per frame would already show


def test_ctrl_c_finishes_a_valid_partial_video_and_never_the_complete_name(small_onnx, tmp_path):
    from lsnet.data.video import write_video

    video = write_video(tmp_path / "long.mp4", "bbox", frames=1500, size=(128, 96))
    out = tmp_path / "out.mp4"
    partial = tmp_path / "out.partial.mp4"
    process = subprocess.Popen([sys.executable, "-m", "lsnet", "infer", str(small_onnx), str(video), "--out",
                                str(out), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (partial.exists() and partial.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # some frames into the run
        os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: to the whole process group (H.264: ffmpeg)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "out.partial.mp4" in stderr and "not the whole source" in stderr
    assert not out.exists()
    written = _frame_count(partial)
    assert 0 < written < 1500 and f"interrupted after {written} frame" in stderr
