"""Synthetic test videos (`lsnet data video`): the synthetic-data renderer with objects moving.

Shapes (bbox, segm) drift, spin and bounce off the frame edges; stick figures (pose) walk
across, swinging their limbs. The background is drawn once; each frame only blends the moving
objects into a copy of it, so thousands of frames take seconds.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsnet.data import render
from lsnet.errors import LSNetError
from lsnet.landmarks import TASKS
from lsnet.runtime.sinks import VideoSink

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

    def draw_next(self, frame: np.ndarray, t: int) -> None:
        _bounce(self.position, self.velocity, self.size / 2, frame.shape[:2])
        self.angle += self.spin
        polygon = render.place(self.polygon, self.size, self.angle, self.position)
        render.polygon_coverage(polygon).paint(frame, self.colour)


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

    def draw_next(self, frame: np.ndarray, t: int) -> None:
        _bounce(self.position, self.velocity, self.height / 4, frame.shape[:2])
        fig = render.figure(_RELAXED + _SWING * np.sin(0.25 * t), self.height, self.position, 0.05 * np.sin(0.1 * t))
        render.paint_figure(frame, fig, self.colour, self.head_colour)


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
            name = render.SHAPE_NAMES[int(rng.integers(len(render.SHAPE_NAMES)))]
            movers.append(_Shape(render.shape_polygon(rng, name), rng.uniform(0.08, 0.25) * min(h, w), colour,
                                 position, rng.uniform(-3, 3, 2), rng.uniform(0, 2 * np.pi), rng.uniform(-0.03, 0.03)))
    return movers


def write_video(path: str | os.PathLike, task: str, frames: int, fps: float = 25.0,
                size: tuple[int, int] = (640, 480), seed: int = 0) -> Path:
    """Write `frames` frames of `size` (W, H) to `path` (.mp4 or .avi); returns the path.

    Written to `NAME.partial.EXT` first and renamed when complete, so a reader never sees half
    a video.
    """
    out = Path(path)
    if task not in TASKS:
        raise LSNetError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
    if frames < 1 or fps <= 0 or min(size) < 32:
        raise LSNetError(f"need frames ≥ 1, fps > 0 and a size of at least 32×32, got {frames}, {fps}, {size}")
    sink = VideoSink(out, fps)  # checks the suffix; writes NAME.partial.EXT, renamed when complete
    w, h = int(size[0]), int(size[1])
    rng = np.random.default_rng([seed, 2])  # split id 2: neither train nor val (lsnet.data.synth)
    background = render.add_noise(rng, render.random_background(rng, (h, w)), 3.0)
    movers = _movers(rng, task, background)
    try:
        for t in range(frames):
            frame = background.copy()
            for mover in movers:
                mover.draw_next(frame, t)
            sink.write(frame, f"frame {t}")
    except BaseException:
        partial = sink.close(complete=False)
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
    sink.close(complete=True)
    return out
