"""The one drawing routine of every backend and command (docs/architecture.md): detections on a BGR image,
and a contact sheet (a grid of frames) for a quick look at a whole video."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from lsnet.errors import LSNetError
from lsnet.files import atomic_write
from lsnet.landmarks import COCO_SKELETON
from lsnet.runtime.detections import Detections

# One colour per class (BGR), cycled; bright enough for black label text.
PALETTE = tuple(tuple(int(code[i:i + 2], 16) for i in (4, 2, 0)) for code in (
    "FF3838", "FF9D97", "FF701F", "FFB21D", "CFD231", "48F90A", "92CC17", "3DDB86", "1A9334", "00D4BB",
    "2C99A8", "00C2FF", "344593", "6473FF", "0018EC", "8438FF", "520085", "CB38FF", "FF95C8", "FF37C7"))
POLYGON_OPACITY = 0.4
FONT = cv2.FONT_HERSHEY_SIMPLEX


def class_colour(label: int) -> tuple[int, int, int]:
    return PALETTE[int(label) % len(PALETTE)]


def _points(xy: np.ndarray) -> np.ndarray:
    return np.round(xy).astype(np.int32)


def _fill_polygons(image: np.ndarray, polygons: list[np.ndarray], colours: list[tuple]) -> None:
    """Translucent fill, changing only the pixels inside the polygons."""
    overlay = image.copy()
    inside = np.zeros(image.shape[:2], np.uint8)
    for polygon, colour in zip(polygons, colours):
        cv2.fillPoly(overlay, [_points(polygon)], colour, cv2.LINE_AA)
        cv2.fillPoly(inside, [_points(polygon)], 255)
    blended = cv2.addWeighted(overlay, POLYGON_OPACITY, image, 1 - POLYGON_OPACITY, 0)
    np.copyto(image, blended, where=inside[..., None].astype(bool))


def _label(image: np.ndarray, text: str, corner: tuple[int, int], colour: tuple, scale: float, thickness: int):
    """Text on a filled box in the class colour, above `corner` (inside the image when at the top)."""
    (w, h), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = corner
    y = max(y, h + baseline)
    cv2.rectangle(image, (x, y - h - baseline), (x + w, y), colour, cv2.FILLED)
    cv2.putText(image, text, (x, y - baseline), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)


def draw_detections(image: np.ndarray, detections: Detections, task: str, score: float = 0.0,
                    inplace: bool = False) -> np.ndarray:
    """Boxes with class + score labels, and the landmarks of `task`: the 4 extreme points (bbox), a
    translucent polygon (segm), or the COCO skeleton with its keypoints (pose).

    Draws on a copy of the BGR uint8 `image` unless `inplace`; returns the drawn image.
    """
    canvas = image if inplace else image.copy()
    shown = detections.above(score)
    thickness = max(1, round(sum(canvas.shape[:2]) / 800))
    colours = [class_colour(label) for label in shown.labels]
    if task == "segm" and len(shown):
        _fill_polygons(canvas, list(shown.landmarks), colours)
    for box, marks, colour, name, value in zip(shown.boxes, shown.landmarks, colours, shown.label_names(),
                                               shown.scores):
        x1, y1, x2, y2 = _points(box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)  # axis-aligned: no anti-aliasing needed
        points = _points(marks)
        if task == "segm":
            cv2.polylines(canvas, [points], True, colour, thickness, cv2.LINE_AA)
        elif task == "pose":
            for a, b in COCO_SKELETON:
                cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, thickness, cv2.LINE_AA)
        if task != "segm":  # extreme points or keypoints
            for x, y in points:
                cv2.circle(canvas, (int(x), int(y)), thickness + 2, colour, cv2.FILLED, cv2.LINE_AA)
                cv2.circle(canvas, (int(x), int(y)), thickness + 2, (255, 255, 255), 1, cv2.LINE_AA)
        _label(canvas, f"{name} {value:.2f}", (x1, y1), colour, 0.35 * thickness + 0.1, max(1, thickness // 2))
    return canvas


def draw_status(image: np.ndarray, text: str) -> None:
    """A line of white-on-black text in the top-left corner (e.g. the live FPS), in place."""
    scale = max(0.5, image.shape[0] / 900)
    (w, h), baseline = cv2.getTextSize(text, FONT, scale, 1)
    cv2.rectangle(image, (0, 0), (w + 8, h + baseline + 8), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (4, h + 4), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)


def contact_sheet(frames: Sequence[np.ndarray], columns: int = 4, cell_width: int = 320) -> np.ndarray:
    """The frames side by side in a grid, each scaled to `cell_width` (cells as tall as the first)."""
    if not frames:
        raise LSNetError("a contact sheet needs at least one frame")
    h, w = frames[0].shape[:2]
    cell = (cell_width, max(1, round(h * cell_width / w)))
    cells = [cv2.resize(f, cell, interpolation=cv2.INTER_AREA) for f in frames]
    columns = min(columns, len(cells))
    cells += [np.zeros_like(cells[0])] * (-len(cells) % columns)
    rows = [np.hstack(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return np.vstack(rows)


def write_contact_sheet(path: str | Path, frames: Sequence[np.ndarray], columns: int = 4,
                        cell_width: int = 320) -> Path:
    """`contact_sheet` written as an image file (PNG by its suffix)."""
    path = Path(path)
    if not cv2.haveImageWriter(str(path)):
        raise LSNetError(f"cannot write the contact sheet {path}: its suffix is not an image type (e.g. .png)")
    encoded, data = cv2.imencode(path.suffix or ".png", contact_sheet(frames, columns, cell_width))
    if not encoded:
        raise LSNetError(f"cannot write the contact sheet {path} (OpenCV cannot encode {path.suffix})")
    return atomic_write(path, data.tobytes())
