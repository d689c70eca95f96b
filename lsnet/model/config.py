"""Architecture of one LSNet: everything needed to rebuild the modules from a checkpoint."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from lsnet import validation as check
from lsnet.errors import LSNetError

TOWERS = ("dcn", "norm")
PDCN_OFFSET_MODES = ("exact", "cumulative")
POSE_BOXES = ("obj", "kps")
DEPTHS = (10, 18, 34, 50, 101, 152)  # torchvision ResNets, and depth 10 for CPU-sized models
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
    # stages (layer1…4) whose 3×3 convs are DCNv2; (2, 3, 4): the official 'dconv c3-c5' (docs/lsnet-official.md §1)
    dcn_stages: tuple[int, ...] = ()
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
        """Every field checked for type and range (`lsnet.validation`), so a checkpoint whose
        config was edited or damaged is refused in one line before any module is built."""
        where = "model config"
        check.choice(self.task, "task", where, ("bbox", "segm", "pose"))
        check.integer(self.num_classes, "num_classes", where, 1)
        check.choice(self.pose_box, "pose_box", where, POSE_BOXES)
        check.choice(self.pose_taps, "pose_taps", where, tuple(POSE_TAPS))
        check.choice(self.depth, "depth", where, DEPTHS)
        for name in ("groups", "width_per_group", "fpn_channels", "head_channels", "gn_groups", "point_base_scale",
                     "pos_num"):
            check.integer(getattr(self, name), name, where, 1)
        check.integer(self.stacked_convs, "stacked_convs", where, 0)
        check.integer(self.frozen_stages, "frozen_stages", where, -1, 4)
        self.dcn_stages = tuple(check.integer_set(self.dcn_stages, "dcn_stages (ResNet stages 1–4)", where, 1, 4))
        check.text(self.pretrained, "pretrained", where, allow_empty=True)
        check.flag(self.norm_eval, "norm_eval", where)
        check.choice(self.tower, "tower", where, TOWERS)
        check.choice(self.pdcn_offsets, "pdcn_offsets", where, PDCN_OFFSET_MODES)
        self.gradient_mul = check.number(self.gradient_mul, "gradient_mul", where, 0, 1)
        # The FPN builds exactly the five levels P3–P7.
        self.strides = tuple(check.integers(self.strides, "strides (of P3–P7)", where, length=5, minimum=1))
        if self.head_channels % self.gn_groups or self.fpn_channels % self.gn_groups:
            raise LSNetError(f"{where}: fpn_channels and head_channels must be divisible by gn_groups "
                             f"({self.gn_groups})")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["strides"] = list(self.strides)
        d["dcn_stages"] = list(self.dcn_stages)
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "model config") -> "ModelConfig":
        check.mapping(d, "model_config", where)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise LSNetError(f"{where}: unknown keys {unknown}")
        try:
            return cls(**d)
        except LSNetError as e:
            raise LSNetError(str(e).replace("model config", where, 1)) from None
