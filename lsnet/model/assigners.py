"""Sample assignment (docs/lsnet-official.md §4), per image, over the flat list of anchor points of all levels.

Both return `assigned` [P] long: the index of the ground truth a point is positive for, or −1.
"""
from __future__ import annotations

import torch
from torch import Tensor

INF = 1e8


def centroid_assign(points: Tensor, point_levels: Tensor, valid: Tensor, gt_boxes: Tensor, scale: int = 4,
                    pos_num: int = 1) -> Tensor:
    """Stage 1 (`CentroidAssigner`, RepPoints-v2 style): each ground truth takes the `pos_num`
    points of its level nearest to its box centre (official: 1), distance normalised by the box
    size; a point wanted by several ground truths goes to the nearest one, and the others get
    nothing (docs/lsnet-official.md §4.1).

    `point_levels` holds log2(stride) per point (3 … 7).
    """
    assigned = torch.full((points.shape[0],), -1, dtype=torch.long, device=points.device)
    if gt_boxes.numel() == 0 or points.numel() == 0:
        return assigned
    centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    wh = (gt_boxes[:, 2:] - gt_boxes[:, :2]).clamp(min=1e-6)
    # level by size: trunc(log2(sqrt(w·h)/scale)); at scale 4, √(wh) < 64 → P3, [64, 128) → P4, …
    gt_levels = ((torch.log2(wh[:, 0] / scale) + torch.log2(wh[:, 1] / scale)) / 2).int()
    gt_levels = gt_levels.clamp(int(point_levels.min()), int(point_levels.max()))
    dist = ((points[:, None, :] - centres[None]) / wh[None]).norm(dim=2)  # [P, M]
    dist[(point_levels[:, None] != gt_levels[None]) | ~valid[:, None]] = INF
    nearest_dist, nearest = dist.topk(min(pos_num, dist.shape[0]), dim=0, largest=False)  # [pos_num, M]
    claimed = torch.full_like(dist, INF).scatter_(0, nearest, nearest_dist)
    best_dist, best_gt = claimed.min(dim=1)  # conflicts: the nearest ground truth wins
    hit = best_dist < INF
    assigned[hit] = best_gt[hit]
    return assigned


def box_iou(a: Tensor, b: Tensor, eps: float = 1e-6) -> Tensor:
    """[N, 4] × [M, 4] IoU as mmdet 2.2 computes it (no +1, union ≥ eps). Predicted boxes can be
    inverted early in training, so areas are not clamped, exactly as there."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    wh = (torch.minimum(a[:, None, 2:], b[None, :, 2:]) - torch.maximum(a[:, None, :2], b[None, :, :2])).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None] - inter).clamp(min=eps)


def atss_assign(pred_boxes: Tensor, level_counts: list[int], valid: Tensor, gt_boxes: Tensor, topk: int = 9
                ) -> Tensor:
    """Stage 2: ATSS (mmdet 2.2) on the detached stage-1 *predicted* boxes (docs/lsnet-official.md §4.2).

    Per level, the `topk` boxes whose centres are nearest the ground-truth centre are candidates;
    positive if IoU ≥ mean + std of the candidates' IoUs and the box centre lies inside the
    ground truth; a box claimed twice goes to the higher IoU. Only valid points take part.
    """
    num_points = pred_boxes.shape[0]
    assigned = torch.full((num_points,), -1, dtype=torch.long, device=pred_boxes.device)
    if gt_boxes.numel() == 0 or not valid.any():
        return assigned
    valid_index = torch.nonzero(valid, as_tuple=True)[0]
    level_of_point = torch.repeat_interleave(torch.arange(len(level_counts), device=valid.device),
                                             torch.as_tensor(level_counts, device=valid.device))
    boxes = pred_boxes[valid_index]
    counts = [int(c) for c in torch.bincount(level_of_point[valid_index], minlength=len(level_counts))]
    num_gt = gt_boxes.shape[0]
    overlaps = box_iou(boxes, gt_boxes)
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    gt_centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    dist = (box_centres[:, None] - gt_centres[None]).pow(2).sum(-1).sqrt()
    candidates, start = [], 0
    for count in counts:
        if count:
            k = min(topk, count)
            candidates.append(dist[start:start + count].topk(k, dim=0, largest=False).indices + start)
        start += count
    candidates = torch.cat(candidates)  # [K, M]
    gt_index = torch.arange(num_gt, device=boxes.device)
    cand_iou = overlaps[candidates, gt_index]
    is_pos = cand_iou >= cand_iou.mean(0) + cand_iou.std(0)
    c = box_centres[candidates]  # [K, M, 2]
    inside = torch.stack((c[..., 0] - gt_boxes[:, 0], c[..., 1] - gt_boxes[:, 1],
                          gt_boxes[:, 2] - c[..., 0], gt_boxes[:, 3] - c[..., 1]), dim=-1).amin(-1) > 0.01
    is_pos &= inside
    iou_of_pos = torch.full_like(overlaps, -INF)
    rows, cols = candidates[is_pos], gt_index.expand_as(candidates)[is_pos]
    iou_of_pos[rows, cols] = overlaps[rows, cols]
    best_iou, best_gt = iou_of_pos.max(dim=1)
    hit = best_iou > -INF
    assigned[valid_index[hit]] = best_gt[hit]
    return assigned
