"""Training/eval transforms of an image and its `Targets`: keep-ratio resize, horizontal flip,
normalise. Resizing and normalising go through `lsnet.runtime.preprocess`, the one
pre-processing of every backend (docs/architecture.md §5); here only the targets follow the image.
"""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from lsnet.data.targets import Targets, box_of
from lsnet.description import ModelDescription
from lsnet.landmarks import keypoint_flip_permutation
from lsnet.runtime.preprocess import normalise, resize_keep_ratio

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ModelDescription)}
MEAN, STD = _DEFAULTS["mean"], _DEFAULTS["std"]  # RGB, 0–255 (docs/lsnet-official.md §1)

# Extreme points are top, left, bottom, right: a mirror swaps left and right (§5.1).
_EXTREME_FLIP = [0, 3, 2, 1]


def resize(image_bgr: np.ndarray, targets: Targets, input_size: tuple[int, int], task: str
           ) -> tuple[np.ndarray, Targets, float]:
    """Keep-ratio resize into `input_size` (H, W); targets scaled by the same factor.

    bbox and pose clip boxes, points and centres to the resized image (§5.1, §5.3): a centre
    is scaled, then clipped, so that of a box crossing the border is not the clipped box's centre.
    segm contours are not clipped (§5.2) and their box stays the contour's extent.
    """
    image, scale = resize_keep_ratio(image_bgr, input_size)
    h, w = image.shape[:2]
    boxes, landmarks, centres = (a * np.float32(scale) for a in (targets.boxes, targets.landmarks, targets.centres))
    if task == "segm":
        boxes = box_of(landmarks) if len(landmarks) else boxes
    else:
        for points in (boxes.reshape(-1, 2, 2), landmarks, centres):  # views: clipped in place
            points[..., 0] = points[..., 0].clip(0, w)
            points[..., 1] = points[..., 1].clip(0, h)
    return image, dataclasses.replace(targets, boxes=boxes, landmarks=landmarks, centres=centres), scale


def hflip_landmarks(landmarks: np.ndarray, visible: np.ndarray, width: float, task: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mirror [M, N, 2] landmarks (x → W − x) and reorder them so each keeps its meaning.

    bbox: left ↔ right extreme point. segm: reversed with point 0 kept first, [p0, p35, …, p1],
    which keeps the orientation and the top-centre start (§5.2). pose: COCO left/right pairs
    swapped, unlabelled keypoints staying unlabelled (§5.3).
    """
    out = landmarks.copy()
    out[..., 0] = width - out[..., 0]
    if task == "bbox":
        order = _EXTREME_FLIP
    elif task == "segm":
        order = [0, *range(out.shape[1] - 1, 0, -1)]
    else:
        order = keypoint_flip_permutation()
    return out[:, order], visible[:, order]


def hflip(image_bgr: np.ndarray, targets: Targets, task: str) -> tuple[np.ndarray, Targets]:
    """Horizontal flip of an image and its targets (mmdet 2.x convention: x → W − x)."""
    width = image_bgr.shape[1]
    boxes = targets.boxes.copy()
    boxes[:, [0, 2]] = width - targets.boxes[:, [2, 0]]
    centres = targets.centres.copy()
    centres[:, 0] = width - centres[:, 0]
    landmarks, visible = hflip_landmarks(targets.landmarks, targets.visible, width, task)
    return (np.ascontiguousarray(image_bgr[:, ::-1]),
            dataclasses.replace(targets, boxes=boxes, landmarks=landmarks, visible=visible, centres=centres))


def to_network_input(image_bgr: np.ndarray, mean=MEAN, std=STD) -> np.ndarray:
    """uint8 BGR HWC → float32 RGB CHW, normalised (docs/lsnet-official.md §1: RGB mean/std)."""
    return normalise(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), mean, std)
