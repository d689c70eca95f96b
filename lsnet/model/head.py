"""LSHead (docs/lsnet-official.md §2): towers, stage-1 landmark vectors, pyramid DCN, stage-2 refinement.

Module names are the official checkpoint's (docs/lsnet-official.md §10: `cls_convs`, `pts_cls_conv`, `cls_GN`,
`pts_bbox_init_out`, …), so an official state dict loads without renaming the head.
A task has one or two landmark *branches*: bbox → [bbox]; segm → [segm];
pose with obj-box → [bbox (side midpoints), pose]; pose with kps-box → [pose].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lsnet.model.config import POSE_TAPS, ModelConfig
from lsnet.model.dcn import TowerLayer
from lsnet.model.pyramid_dcn import PyramidDeformConv, level_scale, pyramid_levels


@dataclass(frozen=True)
class Branch:
    """One landmark branch: `num_vectors` includes the extra centre vector (docs/lsnet-official.md §12.1)."""

    name: str  # official module-name stem: bbox | segm | pose
    num_vectors: int
    loss_type: str  # cross-IOU variant: bbox | polygon | keypoint (docs/lsnet-official.md §3.2)
    free_taps: int = 0  # DCN taps given by raw, unsupervised offsets (bbox: 4, docs/lsnet-official.md §12.2)
    keypoint_taps: tuple[int, ...] = POSE_TAPS["official"]  # keypoint branch: the 8 landmarks it samples

    @property
    def tap_vectors(self) -> list[int]:
        """Vectors whose decoded (dy, dx) are DCN taps, in tap order (docs/lsnet-official.md §2.4)."""
        if self.free_taps:
            return list(range(self.num_vectors))  # 4 extremes + centre, then the free taps
        landmarks = self.num_vectors - 1
        if self.loss_type == "polygon":
            step = math.ceil(landmarks / 8)
            return list(range(0, landmarks, step))[:8] + [landmarks]
        return list(self.keypoint_taps) + [landmarks]


def branches_for(task: str, pose_box: str, num_landmarks: int | None = None,
                 pose_taps: str = "official") -> list[Branch]:
    bbox = Branch("bbox", 5, "bbox", free_taps=4)
    if task == "bbox":
        return [bbox]
    if task == "segm":
        return [Branch("segm", (num_landmarks or 36) + 1, "polygon")]
    pose = Branch("pose", (num_landmarks or 17) + 1, "keypoint", keypoint_taps=POSE_TAPS[pose_taps])
    return [bbox, pose] if pose_box == "obj" else [pose]


@dataclass
class HeadOutputs:
    """Per-level outputs; vectors are Softplus values in stride units, 4 channels per vector."""

    cls_logits: list[Tensor]  # [B, C, H, W] per level
    init_vectors: dict[str, list[Tensor]]  # stage 1, per branch
    refined_vectors: dict[str, list[Tensor]]  # stage 2, per branch


def _normal(module: nn.Conv2d, bias: float = 0.0) -> nn.Conv2d:
    nn.init.normal_(module.weight, std=0.01)
    nn.init.constant_(module.bias, bias)
    return module


class LSHead(nn.Module):
    def __init__(self, cfg: ModelConfig, in_channels: int):
        super().__init__()
        c = cfg.head_channels
        self.cfg = cfg
        self.branches = branches_for(cfg.task, cfg.pose_box, pose_taps=cfg.pose_taps)
        # the cls pyramid DCN samples at the landmarks of this branch (docs/lsnet-official.md §2.4)
        self.cls_branch = self.branches[-1].name
        self.num_levels = len(cfg.strides)
        self.cls_convs = self._tower(in_channels)
        self.cls_GN = nn.GroupNorm(cfg.gn_groups, c)
        self.pts_cls_conv = PyramidDeformConv(c, c)
        self.cls_af_dcn_conv = nn.Sequential(_normal(nn.Conv2d(3 * c, c, 1)), nn.ReLU())
        self.cls_feat_conv = _normal(nn.Conv2d(c, c, 3, padding=1))
        self.pts_cls_out = _normal(nn.Conv2d(c, cfg.num_classes, 1), bias=-math.log((1 - 0.01) / 0.01))
        for br in self.branches:
            n = br.name
            setattr(self, f"{n}_convs", self._tower(in_channels))
            setattr(self, f"{n}_GN", nn.GroupNorm(cfg.gn_groups, c))
            setattr(self, f"pts_{n}_init_conv", _normal(nn.Conv2d(c, c, 3, padding=1)))
            setattr(self, f"pts_{n}_init_out", _normal(nn.Conv2d(c, 4 * br.num_vectors + 2 * br.free_taps, 1)))
            setattr(self, f"pts_{n}_refine_conv", PyramidDeformConv(c, c))
            setattr(self, f"{n}_af_dcn_conv", nn.Sequential(_normal(nn.Conv2d(3 * c, c, 1)), nn.ReLU()))
            setattr(self, f"{n}_feat_conv", _normal(nn.Conv2d(c, c, 3, padding=1)))
            setattr(self, f"pts_{n}_refine_out", _normal(nn.Conv2d(c, 4 * br.num_vectors, 1)))
        # (y, x) of the regular 3×3 grid, tap-major: subtracting it makes the DCN sample at
        # exactly anchor + vector (docs/lsnet-official.md §2.4 step 3). A plain attribute, as officially.
        grid = [(i - 1, j - 1) for i in range(3) for j in range(3)]
        self.dcn_base_offset = torch.tensor(grid, dtype=torch.float32).reshape(1, 18, 1, 1)

    def _tower(self, in_channels: int) -> nn.ModuleList:
        c = self.cfg.head_channels
        return nn.ModuleList(TowerLayer(in_channels if i == 0 else c, c, self.cfg.gn_groups, self.cfg.tower)
                             for i in range(self.cfg.stacked_convs))

    @staticmethod
    def _run(tower: nn.ModuleList, x: Tensor) -> Tensor:
        for layer in tower:
            x = layer(x)
        return x

    def _stage1(self, br: Branch, feat: Tensor) -> tuple[Tensor, Tensor]:
        """Tower features of one level → (Softplus vectors [B, 4V, H, W], DCN offsets [B, 18, H, W])."""
        out = getattr(self, f"pts_{br.name}_init_out")(F.relu(getattr(self, f"pts_{br.name}_init_conv")(feat)))
        sp = F.softplus(out[:, :4 * br.num_vectors])
        b, _, h, w = sp.shape
        t, bottom, left, r = sp.reshape(b, br.num_vectors, 4, h, w)[:, br.tap_vectors].unbind(2)
        dy = torch.where(bottom > t, bottom, -t)
        dx = torch.where(r > left, r, -left)
        taps = torch.stack((dy, dx), dim=2).reshape(b, -1, h, w)
        taps = torch.cat((taps, out[:, 4 * br.num_vectors:]), dim=1)  # + free (y, x) taps
        g = self.cfg.gradient_mul  # stage-2 gradients reach stage 1 scaled by g (docs/lsnet-official.md §2.4 step 2)
        taps = (1 - g) * taps.detach() + g * taps
        return sp, taps - self.dcn_base_offset.to(taps)

    def _level_offsets(self, offset: Tensor, sizes: list, base: int) -> list[tuple[int, Tensor]]:
        """(level, offsets) of the three pyramid-DCN calls of base level `base` (docs/lsnet-official.md §2.5)."""
        levels = pyramid_levels(base, self.num_levels)
        calls = [(lvl, offset) for lvl in levels]
        if self.cfg.pdcn_offsets == "cumulative":
            # The official in-place `offset *= σ` makes the third call see o·σ₂·σ₃; the module
            # applies σ₃ itself, so it is fed o·σ₂ (σ₂ of the second call's level).
            sy, sx = level_scale(sizes[levels[1]], sizes[base])
            scale = torch.tensor([sy, sx], dtype=offset.dtype, device=offset.device).repeat(9).reshape(1, 18, 1, 1)
            calls[2] = (levels[2], offset * scale)
        return calls

    def _stage2(self, pdcn: PyramidDeformConv, fuse: nn.Module, feat_conv: nn.Module, norm: nn.Module,
                feats: list[Tensor], offset: Tensor, sizes: list, base: int) -> Tensor:
        sampled = [pdcn(feats[lvl], off) for lvl, off in self._level_offsets(offset, sizes, base)]
        return F.relu(norm(fuse(torch.cat(sampled, dim=1)) + feat_conv(feats[base])))

    def forward(self, feats: list[Tensor]) -> HeadOutputs:
        sizes = [tuple(f.shape[-2:]) for f in feats]
        cls_feats = [self._run(self.cls_convs, f) for f in feats]
        reg_feats, init, offsets = {}, {}, {}
        for br in self.branches:
            reg_feats[br.name] = [self._run(getattr(self, f"{br.name}_convs"), f) for f in feats]
            init[br.name], offsets[br.name] = map(list, zip(*(self._stage1(br, f) for f in reg_feats[br.name])))
        cls_logits, refined = [], {br.name: [] for br in self.branches}
        for lvl in range(len(feats)):
            h_cls = self._stage2(self.pts_cls_conv, self.cls_af_dcn_conv, self.cls_feat_conv, self.cls_GN,
                                 cls_feats, offsets[self.cls_branch][lvl], sizes, lvl)
            cls_logits.append(self.pts_cls_out(h_cls))
            for br in self.branches:
                n = br.name
                h = self._stage2(getattr(self, f"pts_{n}_refine_conv"), getattr(self, f"{n}_af_dcn_conv"),
                                 getattr(self, f"{n}_feat_conv"), getattr(self, f"{n}_GN"),
                                 reg_feats[n], offsets[n][lvl], sizes, lvl)
                # refinement = Softplus(Δ + detach(stage-1 Softplus)) (docs/lsnet-official.md §2.6)
                delta = getattr(self, f"pts_{n}_refine_out")(h)
                refined[n].append(F.softplus(delta + init[n][lvl].detach()))
        return HeadOutputs(cls_logits, init, refined)
