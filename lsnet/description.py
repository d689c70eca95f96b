"""The model description that travels with every artifact (docs/architecture.md §1).

A checkpoint stores it beside the weights, an ONNX file in its metadata (key
`lsnet_description`), an engine in its sidecar JSON. Every command needs only the artifact.
No torch here: the runtime reads it on devices without a trainer.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from lsnet import validation as check
from lsnet.errors import LSNetError
from lsnet.landmarks import NUM_LANDMARKS, TASKS

FORMAT_VERSION = 2  # 2: `input_kind` (a version-1 reader would feed a frames model normalised images)
ONNX_METADATA_KEY = "lsnet_description"
EXPORT_INFO_KEY = "lsnet_export"  # ONNX metadata: what `lsnet export onnx` recorded (checkpoint, batch, opset)
DECODE_NODE_PREFIX = "lsnet_decode/"  # ONNX: names of the decode + NMS nodes `lsnet export onnx` appends
PATCHED_METADATA_KEY = "lsnet_patched"  # ONNX metadata: present once `lsnet export patch` put plugin nodes in

# How a detection's box is made from the decoded vectors (docs/lsnet-official.md §8.1):
#   extreme_points  – x of the left, y of the top, x of the right, y of the bottom landmark (bbox)
#   landmark_extent – min/max over the N landmarks (segm; pose with kps-box)
#   side_midpoints  – a separate 5-vector box branch regressing side midpoints (pose with obj-box)
BOX_SOURCES = ("extreme_points", "landmark_extent", "side_midpoints")

# What a model's input is (`lsnet export onnx --frames`, docs/architecture.md §5):
#   images – float32 [B, 3, H, W], pre-processed on the host (`lsnet.runtime.preprocess`); outputs in canvas pixels
#   frames – uint8 [B, H, W, 3] BGR frames as they arrive, any H×W; the graph letterboxes them into
#            input_size and its outputs are in frame pixels (`lsnet.export.frames_graph`)
INPUT_KINDS = ("images", "frames")
FRAMES_INPUT = "frames"  # the input tensor of a frames model
CANVAS_OUTPUT_PREFIX = "canvas_"  # a frames model's decode writes canvas_<output> in canvas pixels


# The box sources each task's head can produce (lsnet.model.head.branches_for).
TASK_BOX_SOURCES = {"bbox": ("extreme_points",), "segm": ("landmark_extent",),
                    "pose": ("landmark_extent", "side_midpoints")}
# What two descriptions must share to describe the same network (the input size may differ: an
# export can choose another canvas; decoding thresholds and provenance are settings, not the model).
MODEL_IDENTITY = ("task", "class_names", "num_landmarks", "box_source", "mean", "std", "strides")


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
    input_kind: str = "images"  # INPUT_KINDS; files written before it existed are images models
    format_version: int = 1  # the oldest reader format that understands this description (set below)
    extra: dict = field(default_factory=dict)  # free-form provenance (training run, metrics)

    def __post_init__(self) -> None:
        """Every field checked for type and range: a description read from a file someone edited
        fails here in one line, not as an empty or wrong output later (README "Guarantees")."""
        where = "model description"
        self.task = check.choice(self.task, "task", where, TASKS)
        self.class_names = check.sequence(self.class_names, "class_names", where, min_length=1)
        if not all(isinstance(c, str) and c for c in self.class_names):
            raise LSNetError(f"{where}: class_names must be non-empty strings, got {self.class_names!r}")
        self.input_size = tuple(check.integers(self.input_size, "input_size (H, W)", where, length=2, minimum=1))
        expected = NUM_LANDMARKS[self.task]
        self.num_landmarks = check.integer(self.num_landmarks, "num_landmarks", where, 0) or expected
        if self.num_landmarks != expected:
            raise LSNetError(f"{where}: a {self.task} model has {expected} landmarks, not {self.num_landmarks}")
        self.box_source = check.text(self.box_source, "box_source", where, allow_empty=True) or \
            TASK_BOX_SOURCES[self.task][0]
        check.choice(self.box_source, f"box_source of a {self.task} model", where, TASK_BOX_SOURCES[self.task])
        self.mean = tuple(check.numbers(self.mean, "mean (R, G, B)", where, length=3))
        self.std = tuple(check.numbers(self.std, "std (R, G, B)", where, length=3, above=0))
        self.strides = tuple(check.integers(self.strides, "strides", where, minimum=1))
        if list(self.strides) != sorted(set(self.strides)):
            raise LSNetError(f"{where}: strides must increase, got {list(self.strides)}")
        check.integer(self.pad_divisor, "pad_divisor", where, 1)
        check.integer(self.pre_nms_top_k, "pre_nms_top_k", where, 1)
        self.score_threshold = check.probability(self.score_threshold, "score_threshold", where)
        self.nms_iou_threshold = check.number(self.nms_iou_threshold, "nms_iou_threshold", where, maximum=1, above=0)
        check.integer(self.max_detections, "max_detections", where, 1)
        self.input_kind = check.choice(self.input_kind, "input_kind", where, INPUT_KINDS)
        # Images models stay readable by older lsnet releases; a frames model needs a reader that knows it.
        check.integer(self.format_version, "format_version", where, 1)
        self.format_version = 2 if self.input_kind == "frames" else 1
        check.mapping(self.extra, "extra", where)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def takes_frames(self) -> bool:
        return self.input_kind == "frames"

    def replace(self, **changes) -> "ModelDescription":
        """A copy with `changes`, checked like any description."""
        return dataclasses.replace(self, **changes)

    def differences(self, other: "ModelDescription", fields: tuple[str, ...] = MODEL_IDENTITY) -> list[str]:
        """The `fields` (default: those that make the network, `MODEL_IDENTITY`) in which `other`
        differs, as "task bbox ≠ segm"."""
        return [f"{name} {_short(getattr(self, name))} ≠ {_short(getattr(other, name))}"
                for name in fields if getattr(self, name) != getattr(other, name)]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model description") -> "ModelDescription":
        if not isinstance(d, dict):
            raise LSNetError(f"{where} is not a mapping")
        version = d.get("format_version", FORMAT_VERSION)
        check.integer(version, "format_version", where, 1)
        if version > FORMAT_VERSION:
            raise LSNetError(f"{where} has format {version}, newer than this lsnet ({FORMAT_VERSION}); "
                             "upgrade lsnet-trt")
        known = {f.name for f in dataclasses.fields(cls)}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in d]
        if missing:
            raise LSNetError(f"{where} is incomplete: it lacks {', '.join(missing)}")
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except LSNetError as e:
            raise LSNetError(str(e).replace("model description", where, 1)) from None

    @classmethod
    def from_json(cls, text: str, where: str = "model description") -> "ModelDescription":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as e:
            raise LSNetError(f"{where} is not valid JSON: {e}") from None
        return cls.from_dict(data, where)


def _short(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


@dataclass
class OnnxRecord:
    """What `lsnet export` wrote into an ONNX file's metadata."""

    description: ModelDescription
    export_info: dict  # EXPORT_INFO_KEY: the checkpoint's name and model config, batch, opset
    patched: dict | None  # PATCHED_METADATA_KEY: present once `lsnet export patch` put plugin nodes in


def onnx_metadata(model) -> dict[str, str]:
    """The metadata of an `onnx.ModelProto` as a dict (no onnx import needed here)."""
    return {p.key: p.value for p in model.metadata_props}


def read_onnx_record(metadata: dict[str, str], where) -> OnnxRecord:
    """The one reader of lsnet's ONNX metadata (from `onnx_metadata` or ONNX Runtime's
    `custom_metadata_map`), every field checked."""
    if ONNX_METADATA_KEY not in metadata:
        raise LSNetError(f"{where} is not an lsnet model: it has no lsnet model description (metadata "
                         f"'{ONNX_METADATA_KEY}'); export it with `lsnet export onnx`")
    description = ModelDescription.from_json(metadata[ONNX_METADATA_KEY], f"{where}: model description")
    records = {}
    for key in (EXPORT_INFO_KEY, PATCHED_METADATA_KEY):
        if key in metadata:
            try:
                records[key] = check.mapping(json.loads(metadata[key]), key, f"{where}: metadata")
            except json.JSONDecodeError as e:
                raise LSNetError(f"{where}: metadata '{key}' is not valid JSON: {e}") from None
    export_info = records.get(EXPORT_INFO_KEY, {})
    config = export_info.get("model_config")
    if config is not None:  # the exported checkpoint's architecture (lsnet export onnx records it)
        check.mapping(config, "the export record's model_config", where)
        if (config.get("num_classes"), config.get("task")) != (description.num_classes, description.task):
            raise LSNetError(f"{where}: the network is a {config.get('task')} model with {config.get('num_classes')} "
                             f"classes but its description is a {description.task} model naming "
                             f"{description.num_classes} ({_short(description.class_names)}); re-export it")
    return OnnxRecord(description, export_info, records.get(PATCHED_METADATA_KEY))
