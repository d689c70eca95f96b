"""Synthetic test videos (`lsnet data video`): the synthetic-data renderer with objects moving.

Shapes (bbox, segm) drift, spin and bounce off the frame edges; stick figures (pose) walk
across, swinging their limbs. The background is drawn once; each frame only blends the moving
objects into a copy of it, so thousands of frames take seconds.

Each frame's ground truth is what `lsnet data synth` would annotate for the same layers
(`lsnet.data.synth.annotate`: visible masks, later objects over earlier ones), with a `track_id`
per moving object, so a video can be evaluated like a dataset (`--annotations`: one COCO image
per frame, `lsnet eval --images VIDEO`).
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from lsnet.data import render
from lsnet.data.synth import DEFAULT_SIZE_RANGE, OBJECT_SIZE, Layer, annotate, categories, log_uniform, union
from lsnet.errors import LSNetError
from lsnet.files import atomic_write
from lsnet.landmarks import TASKS
from lsnet.runtime.sinks import VideoSink, written_size

def _bounce(position: np.ndarray, velocity: np.ndarray, margin: float, frame_hw: tuple[int, int]) -> None:
    """Move one frame; reverse the velocity at `margin` from a frame edge (in place)."""
    position += velocity
    for axis, limit in ((0, frame_hw[1]), (1, frame_hw[0])):
        if not margin <= position[axis] <= limit - margin:
            velocity[axis] = -velocity[axis]
            position[axis] = np.clip(position[axis], margin, max(margin, limit - margin))


@dataclass
class _Shape:
    polygon: np.ndarray  # unit polygon (render.shape_polygon)
    size: float  # pixels across
    colour: np.ndarray
    position: np.ndarray
    velocity: np.ndarray  # pixels per frame
    angle: float
    spin: float  # radians per frame

    category_id: int

    def draw_next(self, frame: np.ndarray, t: int) -> Layer:
        _bounce(self.position, self.velocity, self.size / 2, frame.shape[:2])
        self.angle += self.spin
        coverage = render.polygon_coverage(render.place(self.polygon, self.size, self.angle, self.position))
        coverage.paint(frame, self.colour)
        return Layer(coverage, self.category_id)


# A walking cycle: arms and legs swing in counter-phase around a relaxed pose (render.random_limb_angles order).
_RELAXED = np.radians([10, 20, 10, 20, 5, 0, 5, 0])
_SWING = np.radians([35, 35, -35, -35, 20, 20, -20, -20])


@dataclass
class _Walker:
    height: float
    colour: np.ndarray
    head_colour: np.ndarray
    position: np.ndarray  # hips
    velocity: np.ndarray

    def draw_next(self, frame: np.ndarray, t: int) -> Layer:
        _bounce(self.position, self.velocity, self.height / 4, frame.shape[:2])
        fig = render.figure(_RELAXED + _SWING * np.sin(0.25 * t), self.height, self.position, 0.05 * np.sin(0.1 * t))
        render.paint_figure(frame, fig, self.colour, self.head_colour)
        body, head = render.figure_coverages(fig)
        return Layer(union([body, head]), 1, figures=(fig,))


# Shapes as large, in the pixels a model sees, as in `lsnet data synth` images: a frame is taken as a
# dataset image whose longer side is DATASET_SIDE (a square model canvas scales both by their longer
# side). Sizes are log-uniform, as the dataset's, from MIN_SHAPE_SIZE × its smallest (OBJECT_SIZE[0]) —
# the dataset's smallest shapes are its hardest: the committed bbox model finds 40 % of its val objects
# of √area 12–16 px, against 0.8–0.96 above 16 px — up to MAX_SHAPE_SIZE of that side (the dataset
# allows 0.6; a frame holds 4–7 moving shapes). Shapes smaller than the dataset's, in the model's
# pixels, are what a model trained on it misses.
DATASET_SIDE = sum(DEFAULT_SIZE_RANGE) / 2
MIN_SHAPE_SIZE = 1.5
MAX_SHAPE_SIZE = 0.4


def _movers(rng: np.random.Generator, task: str, background: np.ndarray) -> list[_Shape | _Walker]:
    h, w = background.shape[:2]
    movers: list[_Shape | _Walker] = []
    for _ in range(int(rng.integers(2, 4)) if task == "pose" else int(rng.integers(4, 8))):
        position = rng.uniform(0.25, 0.75, 2) * (w, h)
        colour = render.contrasting_colour(rng, background, position)
        if task == "pose":
            velocity = np.array([rng.choice([-1, 1]) * rng.uniform(0.8, 2.5), 0.0])
            movers.append(_Walker(rng.uniform(0.35, 0.6) * h, colour, rng.uniform(60, 240, 3), position, velocity))
        else:
            cls = int(rng.integers(len(render.SHAPE_NAMES)))
            polygon = render.shape_polygon(rng, render.SHAPE_NAMES[cls])
            across = log_uniform(rng, MIN_SHAPE_SIZE * OBJECT_SIZE[0], MAX_SHAPE_SIZE * DATASET_SIDE)  # dataset px
            size = across * max(h, w) / DATASET_SIDE
            movers.append(_Shape(polygon, size, colour, position, rng.uniform(-3, 3, 2), rng.uniform(0, 2 * np.pi),
                                 rng.uniform(-0.03, 0.03), cls + 1))
    return movers


def video_frames(task: str, frames: int, size: tuple[int, int] = (640, 480), seed: int = 0
                 ) -> Iterator[tuple[np.ndarray, list[dict]]]:
    """The frames (uint8 BGR, `size` = W, H) and each frame's COCO annotations (without ids)."""
    if task not in TASKS:
        raise LSNetError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
    w, h = int(size[0]), int(size[1])
    rng = np.random.default_rng([seed, 2])  # split id 2: neither train nor val (lsnet.data.synth)
    background = render.add_noise(rng, render.random_background(rng, (h, w)), 3.0)
    movers = _movers(rng, task, background)
    for t in range(frames):
        frame = background.copy()
        layers = [dataclasses.replace(mover.draw_next(frame, t), track_id=k) for k, mover in enumerate(movers, 1)]
        yield frame, annotate(layers, (h, w))


def frame_name(index: int) -> str:
    """A frame's `file_name` in the annotations: the name `lsnet infer` gives it in a folder."""
    return f"frame_{index:06d}.jpg"


def write_video(path: str | os.PathLike, task: str, frames: int, fps: float = 25.0,
                size: tuple[int, int] = (640, 480), seed: int = 0,
                annotations: str | os.PathLike | None = None) -> Path:
    """Write `frames` frames of `size` (W, H) to `path` (.mp4 or .avi); returns the path.

    Written to `NAME.partial.EXT` first and renamed when complete, so a reader never sees half
    a video. `annotations`: also write the frames' ground truth there, one COCO image per frame
    (`file_name` frame_000000.jpg, …, in frame order).
    """
    out = Path(path)
    if frames < 1 or fps <= 0 or min(size) < 32:
        raise LSNetError(f"need frames ≥ 1, fps > 0 and a size of at least 32×32, got {frames}, {fps}, {size}")
    if annotations is not None and Path(annotations).suffix.lower() != ".json":
        raise LSNetError(f"--annotations {annotations} must be a .json file")
    scenes = video_frames(task, frames, size, seed)  # checks the task
    sink = VideoSink(out, fps)  # checks the suffix; writes NAME.partial.EXT, renamed when complete
    w, h = written_size(out, (int(size[0]), int(size[1])))  # the annotations' image size: as read back
    images, anns = [], []
    try:
        for t, (frame, frame_anns) in enumerate(scenes):
            sink.write(frame, frame_name(t))
            images.append({"id": t + 1, "file_name": frame_name(t), "height": h, "width": w})
            anns += [{"id": len(anns) + k, "image_id": t + 1, **ann} for k, ann in enumerate(frame_anns, 1)]
    except BaseException:
        partial = sink.close(complete=False)
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
    if annotations is not None:
        atomic_write(annotations, json.dumps({"info": {"description": f"lsnet synthetic {task} video",
                                                       "video": out.name, "seed": seed},
                                              "images": images, "annotations": anns, "categories": categories(task)}))
    sink.close(complete=True)
    return out
