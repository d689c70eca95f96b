"""The model description that travels with every artifact (docs/architecture.md §1).

A checkpoint stores it beside the weights, an ONNX file in its metadata (key
`lsnet_description`), an engine in its sidecar JSON. Every command needs only the artifact.
No torch here: the runtime reads it on devices without a trainer.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from lsnet.errors import LSNetError
from lsnet.landmarks import NUM_LANDMARKS, TASKS

FORMAT_VERSION = 1
ONNX_METADATA_KEY = "lsnet_description"
EXPORT_INFO_KEY = "lsnet_export"  # ONNX metadata: what `lsnet export onnx` recorded (checkpoint, batch, opset)
DECODE_NODE_PREFIX = "lsnet_decode/"  # ONNX: names of the decode + NMS nodes `lsnet export onnx` appends
PATCHED_METADATA_KEY = "lsnet_patched"  # ONNX metadata: present once `lsnet export patch` put plugin nodes in

# How a detection's box is made from the decoded vectors (docs/lsnet-official.md §8.1):
#   extreme_points  – x of the left, y of the top, x of the right, y of the bottom landmark (bbox)
#   landmark_extent – min/max over the N landmarks (segm; pose with kps-box)
#   side_midpoints  – a separate 5-vector box branch regressing side midpoints (pose with obj-box)
BOX_SOURCES = ("extreme_points", "landmark_extent", "side_midpoints")


@dataclass
class ModelDescription:
    task: str
    class_names: list[str]
    input_size: tuple[int, int]  # (H, W) network canvas: keep-ratio resize into it, pad the rest
    num_landmarks: int = 0  # 0 → the task's default (4, 36, 17)
    box_source: str = ""  # "" → the task's default
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)  # RGB, 0–255 scale
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    strides: tuple[int, ...] = (8, 16, 32, 64, 128)
    pad_divisor: int = 32
    # Decoding (docs/lsnet-official.md §7 test_cfg); the export bakes these into the graph or plugin attributes.
    pre_nms_top_k: int = 1000
    score_threshold: float = 0.05
    nms_iou_threshold: float = 0.6
    max_detections: int = 100
    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)  # free-form provenance (training run, metrics)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise LSNetError(f"model description: unknown task {self.task!r} (expected one of {', '.join(TASKS)})")
        if not self.num_landmarks:
            self.num_landmarks = NUM_LANDMARKS[self.task]
        if not self.box_source:
            self.box_source = "extreme_points" if self.task == "bbox" else "landmark_extent"
        if self.box_source not in BOX_SOURCES:
            raise LSNetError(f"model description: unknown box_source {self.box_source!r}")
        if self.box_source == "extreme_points" and self.num_landmarks != 4:
            raise LSNetError("model description: box_source 'extreme_points' needs 4 landmarks")
        self.input_size = tuple(int(v) for v in self.input_size)
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)
        self.strides = tuple(int(v) for v in self.strides)
        self.class_names = [str(c) for c in self.class_names]
        if len(self.input_size) != 2 or min(self.input_size) <= 0:
            raise LSNetError(f"model description: input_size must be (H, W) > 0, got {self.input_size}")
        if not self.class_names:
            raise LSNetError("model description: class_names is empty")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelDescription":
        if not isinstance(d, dict):
            raise LSNetError("model description is not a mapping")
        version = d.get("format_version", FORMAT_VERSION)
        if version > FORMAT_VERSION:
            raise LSNetError(
                f"model description format {version} is newer than this lsnet ({FORMAT_VERSION}); upgrade lsnet-trt")
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except TypeError as e:  # a required field is missing
            raise LSNetError(f"model description is incomplete: {e}") from None

    @classmethod
    def from_json(cls, text: str) -> "ModelDescription":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise LSNetError(f"model description is not valid JSON: {e}") from None
