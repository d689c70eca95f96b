"""The one drawing routine of every backend and command (docs/architecture.md): detections on a BGR image,
and a contact sheet (a grid of frames) for a quick look at a whole video."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from lsnet.errors import LSNetError
from lsnet.files import atomic_write
from lsnet.landmarks import COCO_SKELETON, TASKS
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


# What a drawn image shows by default (`lsnet infer`, `draw_detections`): detections scored ≥ 0.3, as mmdet's
# visualiser, and one detection per object. Class-wise NMS (every backend's, docs/architecture.md §3) keeps an
# object's lower-scored duplicate under another class; those are left out of the picture when their box
# overlaps a higher-scored one at IoU ≥ 0.7 — distinct objects of the synthetic val split never overlap
# that much (at most 0.62). The detections themselves (and COCO evaluation) keep every one.
DISPLAY_SCORE = 0.3
DUPLICATE_IOU = 0.7


def displayed(detections: Detections, score: float = DISPLAY_SCORE, duplicate_iou: float | None = DUPLICATE_IOU
              ) -> Detections:
    """The detections a drawn image shows: score ≥ `score`, without another class's duplicate of a
    better detection (class-agnostic NMS at `duplicate_iou`; None keeps them), best first."""
    shown = detections.above(score)
    shown = shown.subset(np.argsort(-shown.scores, kind="stable"))  # best first, whoever made them
    if duplicate_iou is None or len(shown) < 2:
        return shown
    xywh = np.concatenate([shown.boxes[:, :2], shown.boxes[:, 2:] - shown.boxes[:, :2]], 1)
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), shown.scores.tolist(), float(score), float(duplicate_iou))
    return shown.subset(np.sort(np.asarray(keep, np.int64).reshape(-1)))


@dataclass(frozen=True)
class Style:
    """Line and text sizes for an image: they grow with √(h·w), as detectron2's visualiser does."""

    line: int  # box and skeleton thickness, px
    font_scale: float
    font_thickness: int

    @classmethod
    def for_image(cls, image_hw: tuple[int, int]) -> "Style":
        side = float(np.sqrt(image_hw[0] * image_hw[1]))
        text_px = max(MIN_TEXT_PX, side / 50)  # cap height: 9 px up to ~450×450, 22 px at 1920×1080
        return cls(max(1, round(side / 500)), text_px / HERSHEY_CAP_PX, max(1, round(text_px / 18)))


MIN_TEXT_PX = 9  # the smallest Hershey text that stays readable
HERSHEY_CAP_PX = 22  # cap height of FONT at scale 1


def label_size(text: str, style: Style) -> tuple[int, int]:
    """(width, height) of a label's filled box: the text with a 2-px margin."""
    (w, h), baseline = cv2.getTextSize(text, FONT, style.font_scale, style.font_thickness)
    return w + 4, h + baseline + 3


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(boxes: np.ndarray, sizes: list[tuple[int, int]], image_hw: tuple[int, int]
                 ) -> list[tuple[int, int, int, int] | None]:
    """Label rectangles (x0, y0, x1, y1) for boxes given best first, or None for a label left out.

    Each label goes to the first of these places that lies inside the image (shifted in when it
    crosses an edge) and covers no label placed before it: above the box's top-left corner,
    inside its top, below its bottom, inside its bottom, each at the left then the right edge of
    the box. A label with no such place is left out; its box is still drawn.
    """
    h, w = image_hw
    placed: list[tuple[int, int, int, int]] = []
    out: list[tuple[int, int, int, int] | None] = []
    for (x1, y1, x2, y2), (lw, lh) in zip(np.round(boxes).astype(int).tolist(), sizes):
        spot = None
        if lw <= w and lh <= h:
            for y in (y1 - lh, y1, y2, y2 - lh):
                for x in (x1, x2 - lw):
                    x0, y0 = min(max(x, 0), w - lw), min(max(y, 0), h - lh)
                    rect = (x0, y0, x0 + lw, y0 + lh)
                    if not any(_overlaps(rect, other) for other in placed):
                        spot = rect
                        break
                if spot:
                    break
        if spot:
            placed.append(spot)
        out.append(spot)
    return out


def _draw_label(image: np.ndarray, text: str, rect: tuple[int, int, int, int], colour: tuple, style: Style) -> None:
    """Black text on a box filled with the class colour."""
    x0, y0, x1, y1 = rect
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, cv2.FILLED)
    _, baseline = cv2.getTextSize(text, FONT, style.font_scale, style.font_thickness)
    cv2.putText(image, text, (x0 + 2, y1 - 2 - baseline), FONT, style.font_scale, (0, 0, 0), style.font_thickness,
                cv2.LINE_AA)


def draw_detections(image: np.ndarray, detections: Detections, task: str | None = None,
                    score: float = DISPLAY_SCORE, inplace: bool = False,
                    duplicate_iou: float | None = DUPLICATE_IOU) -> np.ndarray:
    """Boxes with class + score labels, and the landmarks of the task (the detections' own unless
    `task` is given): the 4 extreme points (bbox), a translucent polygon (segm), or the COCO
    skeleton with its keypoints (pose). Shows `displayed(detections, score, duplicate_iou)`.

    The best detection is drawn last, on top; labels come after every box and landmark, placed
    best first so that none covers another (`place_labels`). Draws on a copy of the BGR uint8
    `image` unless `inplace`; returns the drawn image.
    """
    task = task or detections.task
    if task not in TASKS:
        raise LSNetError(f"draw_detections needs the task ({', '.join(TASKS)}): these detections carry none, "
                         f"pass task=")
    canvas = image if inplace else image.copy()
    shown = displayed(detections, score, duplicate_iou)
    style = Style.for_image(canvas.shape[:2])
    colours = [class_colour(label) for label in shown.labels]
    if task == "segm" and len(shown):
        _fill_polygons(canvas, list(shown.landmarks[::-1]), colours[::-1])
    for k in reversed(range(len(shown))):  # worst first: the best ends on top
        x1, y1, x2, y2 = _points(shown.boxes[k])
        colour = colours[k]
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, style.line)  # axis-aligned: no anti-aliasing needed
        points = _points(shown.landmarks[k])
        if task == "segm":
            cv2.polylines(canvas, [points], True, colour, style.line, cv2.LINE_AA)
        elif task == "pose":
            for a, b in COCO_SKELETON:
                cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, style.line, cv2.LINE_AA)
        if task != "segm":  # extreme points or keypoints
            for x, y in points:
                cv2.circle(canvas, (int(x), int(y)), style.line + 2, colour, cv2.FILLED, cv2.LINE_AA)
                cv2.circle(canvas, (int(x), int(y)), style.line + 2, (255, 255, 255), 1, cv2.LINE_AA)
    texts = [f"{name} {value:.2f}" for name, value in zip(shown.label_names(), shown.scores)]
    rects = place_labels(shown.boxes, [label_size(t, style) for t in texts], canvas.shape[:2])
    for text, rect, colour in zip(texts, rects, colours):
        if rect is not None:
            _draw_label(canvas, text, rect, colour, style)
    return canvas


def draw_status(image: np.ndarray, text: str) -> None:
    """A line of white-on-black text in the top-left corner (e.g. the live FPS), in place."""
    style = Style.for_image(image.shape[:2])
    (w, h), baseline = cv2.getTextSize(text, FONT, style.font_scale, style.font_thickness)
    cv2.rectangle(image, (0, 0), (w + 8, h + baseline + 8), (0, 0, 0), cv2.FILLED)
    cv2.putText(image, text, (4, h + 4), FONT, style.font_scale, (255, 255, 255), style.font_thickness, cv2.LINE_AA)


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
