"""Reference decoding: per-level head outputs → padded detections (docs/lsnet-official.md §8, docs/architecture.md §3).

This is the canonical semantics every backend reproduces (the ONNX decode graph, the
`LSNetDecode` plugin and its CPU twin are all tested against it):

1. per image and level: class probabilities = sigmoid(logits); keep the `pre_nms_top_k`
   locations with the highest max-over-classes probability;
2. decode the refined vectors (docs/lsnet-official.md §2.2) × stride + anchor (x·s, y·s) → landmarks; the box
   from the landmarks or from the box branch (`ModelDescription.box_source`);
3. clamp boxes and landmarks to the canvas [0, W] × [0, H] (the network input; the
   runtime clamps again to the resized image, see `lsnet.runtime.detections`);
4. every (location, class) pair with probability > `score_threshold` is a candidate;
   class-wise NMS (`torchvision.ops.batched_nms`, IoU > `nms_iou_threshold` suppressed);
5. the `max_detections` best by score, zero-padded: `num_dets` int32 [B,1], `boxes` [B,K,4],
   `scores` [B,K], `labels` int32 [B,K], `landmarks` [B,K,N,2] in canvas pixels.

Deviation from docs/lsnet-official.md §8.1 step 3, on purpose: clamping before NMS uses the canvas, not the
resized image, because an exported graph has no per-image size input. It moves only boxes
that reach into the padding.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision.ops import batched_nms

from lsnet.model import vectors


@dataclass
class LevelOutputs:
    """What the head hands to decoding for one FPN level (refined, stage 2)."""

    cls_logits: Tensor  # [B, C, H, W]
    landmark_vectors: Tensor  # [B, 4·(N+1), H, W], Softplus output in stride units; last vector = centre
    box_vectors: Tensor | None = None  # [B, 20, H, W] side-midpoint branch (box_source 'side_midpoints')


def anchor_points(height: int, width: int, stride: int, device=None) -> Tensor:
    """[H·W, 2] anchor points (x·s, y·s), row-major; no half-stride offset (docs/lsnet-official.md §1)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return torch.stack((xs, ys), dim=-1).reshape(-1, 2).float() * stride


def box_from_points(points: Tensor, box_source: str) -> Tensor:
    """[..., P, 2] decoded points → [..., 4] box.

    'extreme_points' / 'side_midpoints': points are top, left, bottom, right (the centre may follow);
    'landmark_extent': min/max over all given points.
    """
    if box_source in ("extreme_points", "side_midpoints"):
        return torch.stack((points[..., 1, 0], points[..., 0, 1], points[..., 3, 0], points[..., 2, 1]), dim=-1)
    return torch.cat((points.amin(dim=-2), points.amax(dim=-2)), dim=-1)


def decode_points(vector_map: Tensor, index: Tensor, anchors: Tensor, stride: int) -> Tensor:
    """Gather vectors at flat locations `index` [k] of one image's map [4V, H, W] → [k, V, 2] pixels."""
    c = vector_map.shape[0]
    flat = vector_map.reshape(c, -1)[:, index].t().reshape(-1, c // 4, 4)
    return anchors[index, None, :] + vectors.decode(flat) * stride


def decode_level_candidates(level: LevelOutputs, stride: int, image: int, num_landmarks: int, box_source: str,
                            top_k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Top-k locations of one level for one image → (probabilities [k, C], boxes [k, 4], landmarks [k, N, 2])."""
    cls = level.cls_logits[image]
    num_classes, h, w = cls.shape
    probs = cls.sigmoid().reshape(num_classes, -1).t()  # [HW, C]
    k = min(top_k, h * w)
    index = probs.max(dim=1).values.topk(k).indices
    anchors = anchor_points(h, w, stride, cls.device)
    points = decode_points(level.landmark_vectors[image], index, anchors, stride)
    landmarks = points[:, :num_landmarks]
    if box_source == "side_midpoints":
        boxes = box_from_points(decode_points(level.box_vectors[image], index, anchors, stride), box_source)
    else:
        boxes = box_from_points(landmarks, box_source)
    return probs[index], boxes, landmarks


def decode(levels: list[LevelOutputs], strides: list[int], canvas_hw: tuple[int, int], *, num_landmarks: int,
           box_source: str, pre_nms_top_k: int, score_threshold: float, nms_iou_threshold: float,
           max_detections: int) -> dict[str, Tensor]:
    """Padded detections for a batch, in canvas pixels (module docstring)."""
    batch = levels[0].cls_logits.shape[0]
    device = levels[0].cls_logits.device
    k_out = max_detections
    out = {
        "num_dets": torch.zeros(batch, 1, dtype=torch.int32, device=device),
        "boxes": torch.zeros(batch, k_out, 4, device=device),
        "scores": torch.zeros(batch, k_out, device=device),
        "labels": torch.zeros(batch, k_out, dtype=torch.int32, device=device),
        "landmarks": torch.zeros(batch, k_out, num_landmarks, 2, device=device),
    }
    height, width = canvas_hw
    limits = torch.tensor([width, height], dtype=torch.float32, device=device)
    for b in range(batch):
        per_level = [decode_level_candidates(lv, s, b, num_landmarks, box_source, pre_nms_top_k)
                     for lv, s in zip(levels, strides)]
        probs = torch.cat([p for p, _, _ in per_level])
        boxes = torch.cat([bx for _, bx, _ in per_level])
        marks = torch.cat([m for _, _, m in per_level])
        boxes = torch.minimum(boxes.reshape(-1, 2, 2).clamp(min=0), limits).reshape(-1, 4)
        marks = torch.minimum(marks.clamp(min=0), limits)
        loc, cls = torch.nonzero(probs > score_threshold, as_tuple=True)
        scores = probs[loc, cls]
        keep = batched_nms(boxes[loc], scores, cls, nms_iou_threshold)[:k_out]
        n = keep.numel()
        out["num_dets"][b, 0] = n
        out["boxes"][b, :n] = boxes[loc[keep]]
        out["scores"][b, :n] = scores[keep]
        out["labels"][b, :n] = cls[keep].int()
        out["landmarks"][b, :n] = marks[loc[keep]]
    return out
