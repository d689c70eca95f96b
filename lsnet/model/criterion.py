"""The training loss (paper eqn 2): L = L_cls + β·L_vector1 + γ·L_vector2 (docs/lsnet-official.md §3.5, §6).

L_cls is the sigmoid focal loss on the stage-2 (ATSS) labels; L_vector1 / L_vector2 are the
cross-IOU losses of the stage-1 (init) and stage-2 (refined) vectors on their positives.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor
from torchvision.ops import sigmoid_focal_loss

from lsnet.model import vectors
from lsnet.model.assigners import atss_assign, centroid_assign
from lsnet.model.config import ModelConfig
from lsnet.model.cross_iou import cross_iou_loss
from lsnet.model.decode import anchor_points, box_from_points
from lsnet.model.head import Branch, HeadOutputs


@dataclass
class LossConfig:
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0
    cls_weight: float = 1.0
    init_weight: float = 1.0  # β
    refine_weight: float = 2.0  # γ
    side_midpoint_weights: tuple[float, float] = (0.1, 0.2)  # pose obj-box bbox branch, init / refine
    cross_iou_alpha: float = 0.2  # softened-target factor (Appendix A)


def task_boxes(cfg: ModelConfig, target: dict) -> Tensor:
    """The ground-truth box of docs/lsnet-official.md §4.3 for both assigners and the CIoU penalty."""
    if cfg.task == "pose" and cfg.pose_box == "kps":
        pts, vis = target["landmarks"], target["visible"] > 0
        big = torch.finfo(pts.dtype).max
        lo = torch.where(vis[..., None], pts, big).amin(1)
        hi = torch.where(vis[..., None], pts, -big).amax(1)
        return torch.cat((lo, hi), dim=1)
    return target["boxes"]


def branch_points(br: Branch, target: dict, boxes: Tensor) -> Tensor:
    """[M, V, 2] landmark targets of a branch, the centre last (docs/lsnet-official.md §4.3, §12.1).

    The centre is that of the task's gt box `boxes`, except in the bbox task, whose centre is the
    annotation box's as the dataset gives it (`centres`: scaled and clipped, not re-centred on the
    clipped box), as officially.
    """
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    if br.name != "bbox":
        points = target["landmarks"]
    elif target["landmarks"].shape[1] == 4:  # the bbox task: extreme points
        points, centre = target["landmarks"], target["centres"]
    else:  # pose obj-box: side midpoints
        x1, y1, x2, y2 = boxes.unbind(1)
        cx, cy = centre.unbind(1)
        points = torch.stack((torch.stack((cx, y1), 1), torch.stack((x1, cy), 1),
                              torch.stack((cx, y2), 1), torch.stack((x2, cy), 1)), dim=1)
    return torch.cat((points, centre[:, None]), dim=1)


class LSNetCriterion:
    def __init__(self, cfg: ModelConfig, branches: list[Branch], loss_cfg: LossConfig | None = None,
                 pad_divisor: int = 32, reduce_mean: Callable[[Tensor], Tensor] | None = None):
        self.cfg = cfg
        self.branches = branches
        self.loss_cfg = loss_cfg or LossConfig()
        self.pad_divisor = pad_divisor
        # Under DDP the normalisers are averaged over processes, so that N processes compute
        # the gradient of the same global-batch loss as one process would.
        self.reduce_mean = reduce_mean or (lambda t: t)
        self.positives: dict[str, list[int]] = {}  # of the last call: positives per image, by stage

    def _points(self, sizes: list[tuple[int, int]], device) -> tuple[Tensor, Tensor, Tensor, list[int]]:
        """Flat anchor points [P, 2], their stride [P], log2(stride) [P], points per level."""
        pts, strides = [], []
        for (h, w), s in zip(sizes, self.cfg.strides):
            pts.append(anchor_points(h, w, s, device))
            strides.append(torch.full((h * w,), float(s), device=device))
        stride = torch.cat(strides)
        return torch.cat(pts), stride, torch.log2(stride).int(), [h * w for h, w in sizes]

    def _valid(self, sizes: list[tuple[int, int]], image_hw: tuple[int, int], device) -> Tensor:
        """Points inside the image's own padded shape (official `valid_flags`)."""
        ph = -(-int(image_hw[0]) // self.pad_divisor) * self.pad_divisor
        pw = -(-int(image_hw[1]) // self.pad_divisor) * self.pad_divisor
        flags = []
        for (h, w), s in zip(sizes, self.cfg.strides):
            vh, vw = min(-(-ph // s), h), min(-(-pw // s), w)
            grid = torch.zeros(h, w, dtype=torch.bool, device=device)
            grid[:vh, :vw] = True
            flags.append(grid.flatten())
        return torch.cat(flags)

    @staticmethod
    def _flat(maps: list[Tensor], last: int) -> Tensor:
        """Per-level [B, K·last, H, W] → [B, P, K, last] in the flat point order."""
        # float32 also under autocast: the loss needs the precision
        return torch.cat([m.float().permute(0, 2, 3, 1).reshape(m.shape[0], -1, m.shape[1] // last, last)
                          for m in maps], 1)

    def _pred_boxes(self, init: Tensor, points: Tensor, stride: Tensor) -> Tensor:
        """Stage-1 boxes (pixels) for ATSS, from the box branch, detached (docs/lsnet-official.md §4.2)."""
        br = self.branches[0]
        pts = points[:, None] + vectors.decode(init.detach()) * stride[:, None, None]
        source = "extreme_points" if br.name == "bbox" else "landmark_extent"
        return box_from_points(pts if source == "extreme_points" else pts[:, :-1], source)

    def __call__(self, out: HeadOutputs, targets: list[dict]) -> dict[str, Tensor]:
        sizes = [tuple(m.shape[-2:]) for m in out.cls_logits]
        device = out.cls_logits[0].device
        points, stride, point_levels, counts = self._points(sizes, device)
        cls = self._flat(out.cls_logits, 1).squeeze(-1)  # [B, P, C]
        init = {br.name: self._flat(out.init_vectors[br.name], 4) for br in self.branches}
        refined = {br.name: self._flat(out.refined_vectors[br.name], 4) for br in self.branches}

        cls_logits, cls_targets = [], []
        pos = {stage: [] for stage in ("init", "refine")}  # (image, point index, gt index) per stage
        for b, target in enumerate(targets):
            valid = self._valid(sizes, target["image_hw"], device)
            boxes = task_boxes(self.cfg, target)
            # A box without area is never assigned. Officially a kps-box of one labelled keypoint
            # (zero area) still takes one P3 point in stage 1; one of no labelled keypoint, none
            # (docs/lsnet-official.md §4.3).
            keep = torch.nonzero((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]), as_tuple=True)[0]
            a1 = centroid_assign(points, point_levels, valid, boxes[keep], self.cfg.point_base_scale,
                                 self.cfg.pos_num)
            pred_boxes = self._pred_boxes(init[self.branches[0].name][b], points, stride)
            a2 = atss_assign(pred_boxes, counts, valid, boxes[keep])
            a1, a2 = (torch.where(a >= 0, keep[a.clamp(min=0)], a) if keep.numel() else a for a in (a1, a2))
            labels = torch.zeros_like(cls[b])
            hit = a2 >= 0
            labels[hit, target["labels"][a2[hit]]] = 1.0
            cls_logits.append(cls[b][valid])
            cls_targets.append(labels[valid])
            for stage, assigned in (("init", a1), ("refine", a2)):
                idx = torch.nonzero(assigned >= 0, as_tuple=True)[0]
                pos[stage].append((b, idx, assigned[idx]))

        self.positives = {stage: [len(idx) for _, idx, _ in found] for stage, found in pos.items()}
        # Each stage's losses are divided by Σ over images of max(positives in the image, 1), as
        # officially (docs/lsnet-official.md §3.4): an image without positives still counts 1.
        norm = {stage: self.reduce_mean(torch.tensor(float(sum(max(n, 1) for n in per_image)), device=device))
                for stage, per_image in self.positives.items()}
        lc = self.loss_cfg
        focal = sigmoid_focal_loss(torch.cat(cls_logits), torch.cat(cls_targets), lc.focal_alpha,
                                   lc.focal_gamma, reduction="sum")
        losses = {"loss_cls": lc.cls_weight * focal / norm["refine"]}
        for br in self.branches:
            weights = (lc.init_weight, lc.refine_weight)
            if br.name == "bbox" and self.cfg.task == "pose":
                weights = lc.side_midpoint_weights
            for stage, pred_all, weight in (("init", init, weights[0]), ("refine", refined, weights[1])):
                total = self._vector_loss(br, pred_all[br.name], pos[stage], targets, points, stride)
                losses[f"loss_{br.name}_{stage}"] = weight * total / norm[stage]
        return losses

    def _vector_loss(self, br: Branch, pred_all: Tensor, positives: list, targets: list[dict], points: Tensor,
                     stride: Tensor) -> Tensor:
        """Σ of the cross-IOU loss over the positives, everything divided by 4·s (docs/lsnet-official.md §3.1)."""
        preds, tgts, anchors, gt_boxes, visible = [], [], [], [], []
        for b, idx, gt in positives:
            if idx.numel() == 0:
                continue
            boxes = task_boxes(self.cfg, targets[b])
            norm = (self.cfg.point_base_scale * stride[idx])[:, None]
            gt_points = branch_points(br, targets[b], boxes)[gt]  # [n, V, 2]
            anchor = points[idx]
            preds.append(pred_all[b, idx] / self.cfg.point_base_scale)
            tgts.append(vectors.encode(gt_points - anchor[:, None]) / norm[:, :, None])
            anchors.append(anchor / norm)
            gt_boxes.append(boxes[gt] / norm)
            visible.append(targets[b]["visible"][gt])
        if not preds:
            return pred_all.sum() * 0  # keeps the graph (DDP needs every parameter used)
        return cross_iou_loss(torch.cat(preds), torch.cat(tgts), br.loss_type, torch.cat(anchors),
                              torch.cat(gt_boxes), torch.cat(visible), self.loss_cfg.cross_iou_alpha).sum()
