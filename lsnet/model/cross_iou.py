"""Cross-IOU loss as the official code computes it (docs/lsnet-official.md §3; paper §3.3 and Appendix A).

Inputs are for positive locations only (equivalent to the official weighted form, docs/lsnet-official.md §3.4)
and already divided by 4·stride: `pred` and `target` are [P, V, 4] components [t, b, l, r]
(the last vector is the centre), `anchors` [P, 2] (x, y), `gt_boxes` [P, 4].

    overlap O — bbox:     Σ min(p, g) / Σ max(p, g) over all 4·V components
              — polygon:  mean over 9 interleaved vector groups {g, g+9, …} of the same ratio
              — keypoint: per vector and axis, (min₁ + min₂) / (max(ε, max₁) + max(ε, max₂)),
                          unlabelled keypoints' ratios set to 0, summed, divided by 2·V
    bbox/polygon add a CIoU-style penalty on the box the landmarks imply:
        loss = 1 − (O − (ρ²/c² + v² / (1 − O + v)))
    keypoint: loss = 1 − O
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from lsnet.model import vectors

LOSS_TYPES = ("bbox", "polygon", "keypoint")


def overlap_bbox(pred: Tensor, target: Tensor) -> Tensor:
    """One ratio over all components of all vectors — not a per-vector mean (docs/lsnet-official.md §12.4)."""
    return torch.minimum(pred, target).flatten(1).sum(1) / torch.maximum(pred, target).flatten(1).sum(1)


def overlap_polygon(pred: Tensor, target: Tensor, groups: int = 9) -> Tensor:
    """Mean over `groups` interleaved groups of contour vectors (group 0 also holds the centre)."""
    ratios = [overlap_bbox(pred[:, g::groups], target[:, g::groups]) for g in range(groups)]
    return torch.stack(ratios, dim=-1).mean(-1)


def overlap_keypoint(pred: Tensor, target: Tensor, visible: Tensor, eps: float = 1e-6) -> Tensor:
    """Per-axis ratios of each keypoint vector; the divisor is always 2·V (docs/lsnet-official.md §3.2)."""
    p = pred.reshape(pred.shape[0], -1, 2)  # [P, 2V, 2]: (t, b) then (l, r) of each vector
    g = target.reshape(target.shape[0], -1, 2)
    ratios = torch.minimum(p, g).sum(-1) / torch.maximum(p, g).clamp(min=eps).sum(-1)
    # unlabelled keypoints add 0 (a constant loss); the centre's two ratios always count
    labelled = torch.cat((visible.gt(0).to(ratios).repeat_interleave(2, dim=1),
                          ratios.new_ones(ratios.shape[0], ratios.shape[1] - 2 * visible.shape[1])), dim=1)
    return (ratios * labelled).sum(-1) / ratios.shape[1]


def implied_box(pred: Tensor, anchors: Tensor, loss_type: str) -> Tensor:
    """Box of the decoded landmarks: extremes (left x, top y, right x, bottom y) or min/max of the contour."""
    points = anchors[:, None, :] + vectors.decode(pred)
    if loss_type == "bbox":
        return torch.stack((points[:, 1, 0], points[:, 0, 1], points[:, 3, 0], points[:, 2, 1]), dim=-1)
    contour = points[:, :-1]  # the centre is excluded
    return torch.cat((contour.amin(1), contour.amax(1)), dim=-1)


def ciou_penalty(box_pred: Tensor, box_gt: Tensor, overlap: Tensor, eps: float = 1e-6) -> Tensor:
    """ρ²/c² + v²/(1 − O + v): CIoU's centre and aspect terms, with α computed from O, not detached."""
    enclose = (torch.maximum(box_pred[:, 2:], box_gt[:, 2:]) - torch.minimum(box_pred[:, :2], box_gt[:, :2])).clamp(min=0)
    c2 = enclose.pow(2).sum(-1) + eps
    rho2 = ((box_gt[:, :2] + box_gt[:, 2:]) - (box_pred[:, :2] + box_pred[:, 2:])).pow(2).sum(-1) / 4
    w1, h1 = box_pred[:, 2] - box_pred[:, 0], box_pred[:, 3] - box_pred[:, 1] + eps
    w2, h2 = box_gt[:, 2] - box_gt[:, 0], box_gt[:, 3] - box_gt[:, 1] + eps
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    # The official denominator has no guard and is 0/0 at a perfect prediction; eps keeps it 0.
    return rho2 / c2 + v.pow(2) / (1 - overlap + v).clamp(min=eps)


def cross_iou_loss(pred: Tensor, target: Tensor, loss_type: str, anchors: Tensor | None = None,
                   gt_boxes: Tensor | None = None, visible: Tensor | None = None, alpha: float = 0.2,
                   eps: float = 1e-6) -> Tensor:
    """Per-positive loss [P]; `target` is the hard target, softened here with α (Appendix A)."""
    target = vectors.soften(target, alpha)
    if loss_type == "keypoint":
        return 1 - overlap_keypoint(pred, target, visible, eps)
    overlap = overlap_bbox(pred, target) if loss_type == "bbox" else overlap_polygon(pred, target)
    box = implied_box(pred, anchors, loss_type)
    return 1 - (overlap - ciou_penalty(box, gt_boxes, overlap, eps))
