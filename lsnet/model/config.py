"""Architecture of one LSNet: everything needed to rebuild the modules from a checkpoint."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lsnet.errors import LSNetError

TOWERS = ("dcn", "norm")
PDCN_OFFSET_MODES = ("exact", "cumulative")
POSE_BOXES = ("obj", "kps")
# The 8 keypoints (COCO order) at which the pose branch's DCNs sample, before the centre (docs/lsnet-official.md §2.4).
# 'official': the left-side joints 1, 3, …, 15, as the official code and its weights have them;
# 'symmetric': nose, left eye and both elbows, wrists and ankles, so the refinement sees the right
# arm too (models/README.md: the right-side joints catch up with the left).
POSE_TAPS = {"official": (1, 3, 5, 7, 9, 11, 13, 15), "symmetric": (0, 1, 7, 8, 9, 10, 15, 16)}


@dataclass
class ModelConfig:
    task: str = "bbox"  # bbox | segm | pose
    num_classes: int = 80
    pose_box: str = "obj"  # pose only: 'obj' (obj-box, side-midpoint branch) | 'kps' (kps-box), docs/lsnet-official.md §4.3
    pose_taps: str = "official"  # pose only: the keypoints its DCNs sample, a key of POSE_TAPS
    # backbone: torchvision ResNet / ResNeXt (groups, width_per_group: 32×4d → 32, 4)
    depth: int = 50
    groups: int = 1
    width_per_group: int = 64
    pretrained: str = ""  # a local torchvision ImageNet state-dict file; "" → random init
    frozen_stages: int = 1  # stem + layer1 frozen (docs/lsnet-official.md §1); -1 → nothing frozen
    norm_eval: bool = True  # BatchNorm in eval mode (docs/lsnet-official.md §1); False when training from scratch
    # neck and head
    fpn_channels: int = 256
    head_channels: int = 256
    gn_groups: int = 32
    stacked_convs: int = 3
    tower: str = "dcn"  # 'dcn' (DCNv2 tower layers) | 'norm' (plain 3×3 conv + GN), docs/lsnet-official.md §2.1
    pdcn_offsets: str = "exact"  # 'exact' | 'cumulative' (official in-place scaling, docs/lsnet-official.md §2.5)
    gradient_mul: float = 0.1
    strides: tuple[int, ...] = (8, 16, 32, 64, 128)
    point_base_scale: int = 4
    pos_num: int = 1  # stage-1 positives per ground truth (docs/lsnet-official.md §4.1: 1)

    def __post_init__(self) -> None:
        self.strides = tuple(int(s) for s in self.strides)
        checks = [
            (self.task in ("bbox", "segm", "pose"), f"task must be bbox, segm or pose, not {self.task!r}"),
            (self.tower in TOWERS, f"tower must be one of {TOWERS}, not {self.tower!r}"),
            (self.pdcn_offsets in PDCN_OFFSET_MODES, f"pdcn_offsets must be one of {PDCN_OFFSET_MODES}"),
            (self.pose_box in POSE_BOXES, f"pose_box must be one of {POSE_BOXES}"),
            (self.pose_taps in POSE_TAPS, f"pose_taps must be one of {tuple(POSE_TAPS)}, not {self.pose_taps!r}"),
            (self.depth in (10, 18, 34, 50, 101, 152), f"depth must be 10, 18, 34, 50, 101 or 152, not {self.depth}"),
            (self.num_classes >= 1, "num_classes must be ≥ 1"),
            (self.head_channels % self.gn_groups == 0 and self.fpn_channels % self.gn_groups == 0,
             f"fpn_channels and head_channels must be divisible by gn_groups ({self.gn_groups})"),
            (len(self.strides) == 5, "strides must be the 5 strides of P3–P7 (the FPN builds those levels)"),
            (self.point_base_scale >= 1, f"point_base_scale must be ≥ 1, not {self.point_base_scale}"),
            (self.pos_num >= 1, f"pos_num must be ≥ 1, not {self.pos_num}"),
        ]
        for ok, message in checks:
            if not ok:
                raise LSNetError(f"model config: {message}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["strides"] = list(self.strides)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise LSNetError(f"model config: unknown keys {unknown}")
        return cls(**d)
