"""The one renderer of synthetic scenes, shared by `lsnet data synth` and `lsnet data video`.

Every object is drawn anti-aliased (cv2.LINE_AA) into its own coverage map (`Coverage`, 0–255,
on the object's unclipped bounding box). The image blends the object's colour by that coverage
and the object's mask is coverage ≥ 50 %, so annotations follow the drawn pixels.

Coordinates here are OpenCV drawing coordinates: pixel (i, j) has its centre at (i, j). COCO
annotations put the centre at (i + 0.5, j + 0.5); `synth` converts.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SHIFT = 4  # cv2 fixed-point `shift`: vertices with 1/16-pixel precision
SHAPE_NAMES = ("ellipse", "triangle", "rectangle", "star", "cross")


@dataclass
class Coverage:
    """Anti-aliased coverage of one drawn object on its own canvas, placed at (x0, y0)."""

    alpha: np.ndarray  # uint8 [h, w], 0–255
    x0: int
    y0: int

    def _overlap(self, image_hw: tuple[int, int]) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """Slices of the image and of `alpha` where the canvas lies inside the image."""
        h, w = self.alpha.shape
        ix0, iy0 = max(self.x0, 0), max(self.y0, 0)
        ix1, iy1 = min(self.x0 + w, image_hw[1]), min(self.y0 + h, image_hw[0])
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        image_part = (slice(iy0, iy1), slice(ix0, ix1))
        alpha_part = (slice(iy0 - self.y0, iy1 - self.y0), slice(ix0 - self.x0, ix1 - self.x0))
        return image_part, alpha_part

    def area(self) -> int:
        """Pixels at least half covered, including those outside the image."""
        return int(np.count_nonzero(self.alpha >= 128))

    def mask(self, image_hw: tuple[int, int]) -> np.ndarray:
        """Full-image boolean mask of the pixels at least half covered."""
        out = np.zeros(image_hw, bool)
        overlap = self._overlap(image_hw)
        if overlap:
            out[overlap[0]] = self.alpha[overlap[1]] >= 128
        return out

    def paint(self, image: np.ndarray, colour) -> None:
        """Blend `colour` into the uint8 BGR `image` in place, weighted by the coverage."""
        overlap = self._overlap(image.shape[:2])
        if not overlap:
            return
        part = image[overlap[0]].astype(np.float32)
        a = self.alpha[overlap[1]].astype(np.float32)[..., None] / 255.0
        part += (np.asarray(colour, np.float32) - part) * a
        image[overlap[0]] = np.clip(part + 0.5, 0, 255).astype(np.uint8)


def _canvas(points: np.ndarray, margin: float) -> tuple[np.ndarray, int, int]:
    lo = np.floor(points.min(0) - margin).astype(int) - 1
    hi = np.ceil(points.max(0) + margin).astype(int) + 2
    return np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8), int(lo[0]), int(lo[1])


def _fixed(points: np.ndarray, x0: int, y0: int) -> np.ndarray:
    return np.round((np.asarray(points, np.float64) - (x0, y0)) * (1 << SHIFT)).astype(np.int32)


def polygon_coverage(polygon: np.ndarray) -> Coverage:
    alpha, x0, y0 = _canvas(polygon, 1.0)
    cv2.fillPoly(alpha, [_fixed(polygon, x0, y0)], 255, cv2.LINE_AA, shift=SHIFT)
    return Coverage(alpha, x0, y0)


# --- shapes ------------------------------------------------------------------------------------

def shape_polygon(rng: np.random.Generator, name: str) -> np.ndarray:
    """A random instance of the named shape, centred at 0, longest half-extent 1."""
    if name == "ellipse":
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        poly = np.stack([np.cos(t), rng.uniform(0.45, 1.0) * np.sin(t)], 1)
    elif name == "triangle":
        t = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3]) + rng.uniform(-0.35, 0.35, 3)
        poly = rng.uniform(0.75, 1.0, (3, 1)) * np.stack([np.cos(t), np.sin(t)], 1)
    elif name == "rectangle":
        poly = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [1.0, rng.uniform(0.35, 1.0)]
    elif name == "star":
        # Fat points (inner radius ≥ 0.5) so 36 contour points still trace the tips (docs/lsnet-official.md §5.2).
        t = np.arange(10) * np.pi / 5
        r = np.where(np.arange(10) % 2 == 0, 1.0, rng.uniform(0.5, 0.62))
        poly = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    elif name == "cross":
        a, b = rng.uniform(0.3, 0.45), rng.uniform(0.3, 0.45)  # half-widths of the two arms
        poly = np.array([[-a, -1], [a, -1], [a, -b], [1, -b], [1, b], [a, b],
                         [a, 1], [-a, 1], [-a, b], [-1, b], [-1, -b], [-a, -b]])
    else:
        raise ValueError(f"unknown shape {name!r}")
    poly = np.asarray(poly, np.float64)
    return poly / np.abs(poly).max()


def place(polygon: np.ndarray, size: float, angle: float, centre) -> np.ndarray:
    """Scale a unit polygon to `size` pixels across, rotate by `angle` (radians), move to `centre`."""
    c, s = np.cos(angle), np.sin(angle)
    return polygon * (size / 2) @ np.array([[c, s], [-s, c]]) + np.asarray(centre, np.float64)


# --- backgrounds and colours -------------------------------------------------------------------

def random_background(rng: np.random.Generator, image_hw: tuple[int, int]) -> np.ndarray:
    """Smooth random colour field with a few low-contrast distractor lines and blobs (uint8 BGR).

    The distractors are blurred, so that unlike the objects they have no crisp outline.
    """
    h, w = image_hw
    grid = rng.uniform(30, 225, (int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3)).astype(np.float32)
    image = np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 5))):
        p = rng.uniform(0, 1, 2) * (w, h)
        colour = np.clip(image[int(p[1]), int(p[0])] + rng.uniform(-30, 30, 3), 0, 255).tolist()
        if rng.random() < 0.5:
            q = p + rng.uniform(-0.5, 0.5, 2) * (w, h)
            cv2.line(image, _fixed(p, 0, 0), _fixed(q, 0, 0), colour, int(rng.integers(1, 4)), cv2.LINE_AA,
                     shift=SHIFT)
        else:
            axes = _fixed(rng.uniform(3, 0.12 * min(h, w), 2), 0, 0)
            cv2.ellipse(image, _fixed(p, 0, 0), axes, float(rng.uniform(0, 180)), 0, 360, colour, -1,
                        cv2.LINE_AA, shift=SHIFT)
    return cv2.GaussianBlur(image, (0, 0), 2.0)


def add_noise(rng: np.random.Generator, image: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def contrasting_colour(rng: np.random.Generator, image: np.ndarray, at) -> np.ndarray:
    """A random colour that stands out from the image around `at` (objects must be learnable)."""
    h, w = image.shape[:2]
    x, y = int(np.clip(at[0], 0, w - 1)), int(np.clip(at[1], 0, h - 1))
    local = image[y, x].astype(np.float64)
    colour = rng.uniform(0, 255, 3)
    for _ in range(20):
        if np.linalg.norm(colour - local) > 100:
            break
        colour = rng.uniform(0, 255, 3)
    return colour


# --- stick figures -----------------------------------------------------------------------------

@dataclass
class Figure:
    """A frontal stick figure: 17 COCO keypoints (the person's left is the image's right)."""

    keypoints: np.ndarray  # [17, 2] drawing coordinates, COCO order
    head_centre: np.ndarray  # [2]
    head_radius: float
    thickness: int


def random_limb_angles(rng: np.random.Generator) -> np.ndarray:
    """Absolute angles (radians from straight down, positive away from the body) of the
    left upper arm, left forearm, right upper arm, right forearm, then the same for the legs."""
    deg = np.empty(8)
    for side in (0, 2):
        deg[side] = rng.uniform(-25, 165)  # upper arm: hanging to raised above the head
        deg[side + 1] = deg[side] + rng.uniform(-30, 120)  # elbow bend
        deg[side + 4] = rng.uniform(-20, 45)  # thigh
        deg[side + 5] = deg[side + 4] + rng.uniform(-45, 15)  # knee bend
    return np.radians(deg)


def figure(limb_angles: np.ndarray, height: float, hip_centre, lean: float, turn: float = 0.0) -> Figure:
    """Build a figure about `height` pixels tall standing on its hips at `hip_centre`, leaning by
    `lean` radians; `turn` in [-1, 1] shifts the face sideways."""
    h = height
    head_r = 0.065 * h
    shoulder_y = -0.30 * h
    head = np.array([0.0, shoulder_y - 0.06 * h - head_r])
    kp = np.zeros((17, 2))
    kp[0] = head + (0.45 * turn * head_r, 0.25 * head_r)  # nose
    kp[1:3] = head + [[0.38 * head_r + 0.4 * turn * head_r, -0.15 * head_r],
                      [-0.38 * head_r + 0.4 * turn * head_r, -0.15 * head_r]]  # eyes (left, right)
    kp[3:5] = head + [[0.92 * head_r, 0.05 * head_r], [-0.92 * head_r, 0.05 * head_r]]  # ears
    kp[5:7] = [[0.11 * h, shoulder_y], [-0.11 * h, shoulder_y]]
    kp[11:13] = [[0.075 * h, 0.0], [-0.075 * h, 0.0]]
    for side, sign in ((0, 1.0), (1, -1.0)):  # 0 = left (image right), 1 = right
        a = limb_angles[2 * side: 2 * side + 2]
        kp[7 + side] = kp[5 + side] + 0.16 * h * np.array([sign * np.sin(a[0]), np.cos(a[0])])
        kp[9 + side] = kp[7 + side] + 0.15 * h * np.array([sign * np.sin(a[1]), np.cos(a[1])])
        b = limb_angles[4 + 2 * side: 6 + 2 * side]
        kp[13 + side] = kp[11 + side] + 0.23 * h * np.array([sign * np.sin(b[0]), np.cos(b[0])])
        kp[15 + side] = kp[13 + side] + 0.23 * h * np.array([sign * np.sin(b[1]), np.cos(b[1])])
    c, s = np.cos(lean), np.sin(lean)
    rot = np.array([[c, s], [-s, c]])
    origin = np.asarray(hip_centre, np.float64)
    return Figure(kp @ rot + origin, head @ rot + origin, head_r, max(2, int(round(0.055 * h))))


_LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16))


def figure_coverages(fig: Figure) -> tuple[Coverage, Coverage]:
    """Coverage of the body (torso, neck, limbs) and of the head, on one shared canvas."""
    body, x0, y0 = _canvas(np.vstack([fig.keypoints, fig.head_centre[None]]),
                           fig.head_radius + fig.thickness + 1)
    kp = _fixed(fig.keypoints, x0, y0)
    cv2.fillPoly(body, [kp[[5, 6, 12, 11]]], 255, cv2.LINE_AA, shift=SHIFT)
    neck = _fixed((fig.keypoints[5] + fig.keypoints[6]) / 2, x0, y0)
    cv2.line(body, neck, _fixed(fig.head_centre, x0, y0), 255, fig.thickness, cv2.LINE_AA, shift=SHIFT)
    for a, b in _LIMBS:
        cv2.line(body, kp[a], kp[b], 255, fig.thickness, cv2.LINE_AA, shift=SHIFT)
    head = np.zeros_like(body)
    cv2.circle(head, _fixed(fig.head_centre, x0, y0), int(round(fig.head_radius * (1 << SHIFT))), 255, -1,
               cv2.LINE_AA, shift=SHIFT)
    return Coverage(body, x0, y0), Coverage(head, x0, y0)


def paint_figure(image: np.ndarray, fig: Figure, body_colour, head_colour) -> None:
    """Draw the figure in place: body, head, and dark eyes as a frontal-face cue."""
    body, head = figure_coverages(fig)
    body.paint(image, body_colour)
    head.paint(image, head_colour)
    eye_r = max(1.0, 0.14 * fig.head_radius)
    for eye in fig.keypoints[1:3]:
        cv2.circle(image, _fixed(eye, 0, 0), int(round(eye_r * (1 << SHIFT))), (20, 20, 20), -1, cv2.LINE_AA,
                   shift=SHIFT)
