"""Landmark targets from COCO annotations, in original-image pixels (docs/lsnet-official.md §5).

- bbox: the 4 extreme points, ExtremeNet's algorithm as LSNet's `tools/gen_coco_lsvr.py` runs it (§5.1);
- segm: 36 contour points of the largest part, as LSNet's `LoadAnnotations` samples them (§5.2);
- pose: the 17 COCO keypoints and their labelled flags (§5.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from pycocotools import mask as mask_utils

EXTREME_TOLERANCE = 0.02  # of the box side, "about 3°" (§5.1)
CONTOUR_DENSE = 360  # DeepSnake uniform resampling (§5.2)
CONTOUR_STEP = 10  # every 10th of the 360 → 36 points (`spline_num=10`)
MIN_PART_AREA = 5.0  # parts with shoelace area ≤ 5 px² are dropped (§5.2.1)


@dataclass
class Targets:
    """The objects of one image (numpy), in the pixels of the image they belong to."""

    boxes: np.ndarray  # float32 [M, 4] x1, y1, x2, y2 — the task's gt box (§4.3)
    labels: np.ndarray  # int64 [M] contiguous class index
    landmarks: np.ndarray  # float32 [M, N, 2] x, y
    visible: np.ndarray  # float32 [M, N] 1 where the landmark is labelled
    # float32 [M, 2] centre of the annotation box, moved with the landmarks (scaled, clipped,
    # mirrored): the bbox task's centre-vector target, as the official `extreme_points` carry it
    # (§4.3, §5.1). Other tasks take the centre of their gt box instead.
    centres: np.ndarray


# --- geometry ----------------------------------------------------------------------------------

def shoelace(polygon: np.ndarray) -> float:
    """Σ(x_i·y_{i+1} − x_{i+1}·y_i) / 2: signed area, positive for CCW in raw image coordinates."""
    x, y = polygon[:, 0], polygon[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def box_of(points: np.ndarray) -> np.ndarray:
    """x1, y1, x2, y2 of (…, K, 2) points."""
    return np.concatenate([points.min(-2), points.max(-2)], -1)


def polygon_parts(segmentation: list) -> list[np.ndarray]:
    """A COCO polygon list → parts as (K, 2) float arrays (odd trailing coordinates dropped)."""
    parts = []
    for flat in segmentation:
        flat = np.asarray(flat, np.float64)
        parts.append(flat[: len(flat) // 2 * 2].reshape(-1, 2))
    return parts


def rle_mask(segmentation: dict, image_hw: tuple[int, int]) -> np.ndarray:
    """A COCO RLE (compressed or not) → uint8 mask [h, w]."""
    rle = segmentation
    if isinstance(rle.get("counts"), list):
        rle = mask_utils.frPyObjects(rle, *image_hw)
    return mask_utils.decode(rle)


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours of a binary mask as COCO polygons (pixel i spans [i, i+1)).

    Traced on the mask upsampled 2× so that the outline runs between pixel centres: it
    rasterises (pycocotools) back onto the same pixels instead of losing a half-pixel rim.
    Parts thinner than a pixel are dropped.
    """
    up = cv2.resize(mask.astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 0.5, True).reshape(-1, 2)  # ≤ 1/4 px: keeps 1-px parts
        if len(contour) >= 3 and cv2.contourArea(contour) >= 4:
            polygons.append(((contour + 0.5) / 2).ravel().tolist())
    return polygons


# --- extreme points (§5.1) ---------------------------------------------------------------------

def _run(values: np.ndarray, start: int, tolerance: float) -> np.ndarray:
    """Indices of the consecutive values around `start` that stay within `tolerance` of it."""
    hi = start
    while hi + 1 < len(values) and abs(values[hi + 1] - values[start]) <= tolerance:
        hi += 1
    lo = start
    while lo - 1 >= 0 and abs(values[lo - 1] - values[start]) <= tolerance:
        lo -= 1
    return np.arange(lo, hi + 1)


def extreme_points(points: np.ndarray) -> np.ndarray:
    """Top, left, bottom, right extreme points [4, 2] of an ordered point set (§5.1).

    The extreme coordinate is exact; along the other axis the point is the middle of the run of
    consecutive points within 2 % of the box side of the extreme, `(max + min) // 2` (floor
    division on floats, as ExtremeNet writes it). The sequence is padded by one point at each end
    so that a run may wrap around once.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    (left, top), (right, bottom) = pts.min(0), pts.max(0)
    tol_x, tol_y = EXTREME_TOLERANCE * (right - left + 1), EXTREME_TOLERANCE * (bottom - top + 1)
    padded = np.concatenate([pts[-1:], pts, pts[:1]])
    x, y = padded[:, 0], padded[:, 1]

    def middle(along: np.ndarray, across: np.ndarray, start: int, tolerance: float) -> float:
        run = along[_run(across, start, tolerance)]
        return (run.max() + run.min()) // 2

    return np.array([
        [middle(x, y, int(np.argmin(y)), tol_y), top],
        [left, middle(y, x, int(np.argmin(x)), tol_x)],
        [middle(x, y, int(np.argmax(y)), tol_y), bottom],
        [right, middle(y, x, int(np.argmax(x)), tol_x)],
    ])


def segmentation_points(segmentation, image_hw: tuple[int, int]) -> np.ndarray:
    """The point set of §5.1: polygon vertices, all parts in order; for RLE all foreground pixels."""
    if isinstance(segmentation, dict):
        return np.argwhere(rle_mask(segmentation, image_hw))[:, ::-1].astype(np.float64)
    parts = polygon_parts(segmentation or [])
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def side_midpoints(box: np.ndarray) -> np.ndarray:
    """Top, left, bottom, right side midpoints of an x1, y1, x2, y2 box (§4.3 `get_border_center`)."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([[cx, y1], [x1, cy], [cx, y2], [x2, cy]], np.float64)


# --- contours (§5.2) ---------------------------------------------------------------------------

def uniform_sample(polygon: np.ndarray, count: int) -> np.ndarray:
    """DeepSnake's `uniformsample`: `count` points along a closed polygon.

    More vertices than `count`: keep the vertices whose outgoing edges are longest, in order.
    Otherwise each edge gets round(length · count / perimeter) points (at least 1), the rounding
    surplus is taken from the longest edges (each keeping ≥ 1) or the deficit given to the
    longest edge, and an edge's points sit at fractions k/n from its first vertex.
    """
    nxt = np.roll(polygon, -1, 0)
    length = np.linalg.norm(nxt - polygon, axis=1)
    by_length = np.argsort(length)
    if len(polygon) > count:
        return polygon[np.sort(by_length[len(polygon) - count:])]
    per_edge = np.maximum(np.round(length * count / length.sum()).astype(np.int64), 1)
    surplus = int(per_edge.sum()) - count
    if surplus < 0:
        per_edge[by_length[-1]] -= surplus
    for edge in by_length[::-1]:
        if surplus <= 0:
            break
        take = min(surplus, per_edge[edge] - 1)
        per_edge[edge] -= take
        surplus -= take
    first = np.cumsum(per_edge) - per_edge
    fraction = (np.arange(count) - np.repeat(first, per_edge)) / np.repeat(per_edge, per_edge)
    start, end = np.repeat(polygon, per_edge, 0), np.repeat(nxt, per_edge, 0)
    return start + (end - start) * fraction[:, None]


def contour_points(part: np.ndarray) -> np.ndarray:
    """One part → 36 points: uniform 360, every 10th, clockwise on screen, top-centre first."""
    points = uniform_sample(part, CONTOUR_DENSE)[::CONTOUR_STEP]
    if shoelace(points) > 0:  # shapely's is_ccw → reversed, so Σ(x_i·y_{i+1} − x_{i+1}·y_i) ≤ 0
        points = points[::-1]
    (x1, y1), (x2, _) = points.min(0), points.max(0)
    start = int(np.argmin(np.linalg.norm(points - ((x1 + x2) / 2, y1), axis=1)))
    return np.roll(points, -start, 0)


def part_problem(part: np.ndarray) -> str | None:
    """Why a polygon part is dropped before sampling (§5.2.1), or None if it is kept."""
    if len(part) < 3:
        return "polygon part < 3 points (dropped)"
    w, h = part.max(0) - part.min(0)
    if w < 1 or h < 1 or abs(shoelace(part)) <= MIN_PART_AREA:
        return "polygon part tiny: w or h < 1 or area <= 5 (dropped)"
    return None


def contour_target(parts: list[np.ndarray], gt_box: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """36 contour points of the largest surviving part (§5.2.6, §12.10), and what was dropped.

    If no part survives, the gt box as the polygon (tl, bl, br, tr) stands in for the mask.
    """
    notes = [p for p in map(part_problem, parts) if p]
    kept = [p for p in parts if part_problem(p) is None]
    if not kept:
        x1, y1, x2, y2 = gt_box
        kept = [np.array([[x1, y1], [x1, y2], [x2, y2], [x2, y1]], np.float64)]
        notes.append("no polygon part survives: gt box used as contour")
    contours = [contour_points(p) for p in kept]
    return max(contours, key=lambda c: abs(shoelace(c))), notes


# --- keypoints (§5.3) --------------------------------------------------------------------------

def keypoint_target(keypoints: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """COCO (x, y, v) ×17 → points [17, 2] and labelled flags [17] (v > 0 → 1, §5.3)."""
    kp = np.asarray(keypoints, np.float64).reshape(17, 3)
    return kp[:, :2], (kp[:, 2] > 0).astype(np.float32)
