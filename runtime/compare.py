"""How far apart two models' detections are (`lsnet compare`): match them, then measure.

The reference's detections with a score ≥ `score` are matched, best score first, to the other
model's unmatched detection of the same label with the highest box IoU, if that IoU is at least
`match_iou`. The other side is searched down to `score − margin`, so that a detection scored 0.31
by one model and 0.29 by the other is a score difference, not a missing detection. The same is
done the other way round to count the other model's extra detections.

For matched pairs: box IoU, absolute differences of box corners, landmarks (pixels) and scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lsnet.runtime.detections import Detections


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[Na, 4] × [Nb, 4] x1, y1, x2, y2 → [Na, Nb] IoU."""
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass
class Matches:
    pairs: list[tuple[int, int]]  # (index in reference, index in other)
    iou: list[float]
    unmatched: int  # reference detections ≥ score without a partner


def match_detections(reference: Detections, other: Detections, score: float = 0.3, match_iou: float = 0.5,
                     margin: float = 0.05) -> Matches:
    wanted = [i for i in np.argsort(-reference.scores, kind="stable") if reference.scores[i] >= score]
    pool = set(np.flatnonzero(other.scores >= score - margin).tolist())
    iou = box_iou(reference.boxes, other.boxes) if len(reference) and len(other) else np.zeros((len(reference), 0))
    pairs, ious = [], []
    for i in wanted:
        candidates = [j for j in pool if other.labels[j] == reference.labels[i] and iou[i, j] >= match_iou]
        if candidates:
            j = max(candidates, key=lambda c: iou[i, c])
            pool.remove(j)
            pairs.append((int(i), int(j)))
            ious.append(float(iou[i, j]))
    return Matches(pairs, ious, len(wanted) - len(pairs))


def _stats(values: list[np.ndarray], prefix: str) -> dict:
    flat = np.concatenate([v.reshape(-1) for v in values]) if values else np.zeros(0)
    if not flat.size:
        return {f"{prefix}_max": None, f"{prefix}_mean": None}
    return {f"{prefix}_max": float(flat.max()), f"{prefix}_mean": float(flat.mean())}


def compare_detections(reference: list[Detections], other: list[Detections], score: float = 0.3,
                       match_iou: float = 0.5, margin: float = 0.05) -> dict:
    """Differences of `other` from `reference` over the same images (module docstring), JSON-ready."""
    counts = {"images": len(reference), "reference_detections": 0, "detections": 0, "matched": 0, "missed": 0,
              "extra": 0}
    ious, boxes, landmarks, scores = [], [], [], []
    for ref, oth in zip(reference, other, strict=True):
        forward = match_detections(ref, oth, score, match_iou, margin)
        backward = match_detections(oth, ref, score, match_iou, margin)
        counts["reference_detections"] += int((ref.scores >= score).sum())
        counts["detections"] += int((oth.scores >= score).sum())
        counts["matched"] += len(forward.pairs)
        counts["missed"] += forward.unmatched
        counts["extra"] += backward.unmatched
        if forward.pairs:
            r, o = (list(index) for index in zip(*forward.pairs))
            ious.append(np.array(forward.iou))
            boxes.append(np.abs(ref.boxes[r] - oth.boxes[o]))
            landmarks.append(np.abs(ref.landmarks[r] - oth.landmarks[o]))
            scores.append(np.abs(ref.scores[r] - oth.scores[o]))
    iou = np.concatenate(ious) if ious else np.zeros(0)
    return {**counts, "box_iou_min": float(iou.min()) if iou.size else None,
            "box_iou_mean": float(iou.mean()) if iou.size else None,
            **_stats(boxes, "box_abs"), **_stats(landmarks, "landmark_abs"), **_stats(scores, "score_abs")}


def agree(summary: dict, min_iou: float = 0.98) -> bool:
    """Same detections (none missed, none extra) with every matched box at IoU ≥ `min_iou`."""
    return (summary["missed"] == 0 and summary["extra"] == 0
            and (summary["box_iou_min"] is None or summary["box_iou_min"] >= min_iou))
