"""An official LSNet checkpoint (mmdet 2.2) and its config → an lsnet model and its description.

What `lsnet import official` does (docs/lsnet-official.md §10, docs/architecture.md §2):

1. read the checkpoint `{'meta', 'state_dict', 'optimizer'}` with `torch.load(weights_only=True)`
   (numpy scalars and arrays allowed, nothing else that could run code);
2. read its config — the file given, else the one mmdet stores in `meta['config']` — without
   executing it (`lsnet.model.mmcv_config`), and map it to this model's options: task, backbone,
   FPN and head widths, tower, strides, gradient multiplier, stage-1 assigner, test-time
   thresholds, input size and normalisation, class names. What the config asks for and this
   model cannot do (a Res2Net backbone, DCNv1 or grouped offsets in the backbone, CPV,
   caffe-style ResNet, …) is a one-line error;
   what only changes test-time augmentation is a note. Without any config, the weights give the
   architecture (`weights_facts`) and the official R-50 configs the rest;
3. check the config against the weights (task, depth, classes, tower, widths), set the options
   the official code has no switch for to its behaviour (`OFFICIAL_BEHAVIOUR`), load strictly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.model.checkpoint import FORMAT, load_torch_file
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet
from lsnet.model.mmcv_config import Unreadable, parse_config_text, read_config
from lsnet.model.official import (OFFICIAL_BEHAVIOUR, PROVENANCE_KEY, from_official, load_official,
                                  weights_facts)

# The official task names (LSHead `task`) → (task, pose_box) here (docs/lsnet-official.md §2.1)
TASKS = {"bbox": ("bbox", "obj"), "segm": ("segm", "obj"), "pose_bbox": ("pose", "obj"), "pose_kbox": ("pose", "kps")}
NUM_VECTORS = {"bbox": 4, "segm": 36, "pose": 17}  # LSHead `num_vectors` (landmarks, without the centre)
# Test-time settings of the official R-50 configs (docs/lsnet-official.md §7), for what a config does not say.
TEST_DEFAULTS = {task: {"pre_nms_top_k": nms_pre, "score_threshold": 0.05, "nms_iou_threshold": 0.6,
                        "max_detections": max_per_img}
                 for task, (nms_pre, max_per_img) in {"bbox": (1000, 100), "segm": (1000, 100), "pose": (100, 20)}.items()}
INPUT_SIZE = (800, 1333)  # img_scale (1333, 800) with keep_ratio: long side ≤ 1333, short side ≤ 800
# The constructor defaults of mmdet 2.2 / the LSNet code, for keys a config leaves out.
HEAD_DEFAULTS = {"feat_channels": 256, "point_feat_channels": 256, "stacked_convs": 4, "num_kernel_points": 9,
                 "gradient_mul": 0.1, "point_strides": [8, 16, 32, 64, 128], "point_base_scale": 4,
                 "num_vectors": 4, "conv_module_type": "norm"}


@dataclass
class ImportedModel:
    model: object  # LSNet in eval mode, official weights loaded
    description: ModelDescription
    config_source: str  # where the options came from
    notes: list[str] = field(default_factory=list)  # what is not reproduced, what was assumed


def coco_class_names() -> list[str]:
    """The 80 COCO category names in mmdet's `CocoDataset.CLASSES` order (torchvision's list)."""
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights

    return [c for c in FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"] if c not in ("N/A", "__background__")]


# --- the checkpoint ---------------------------------------------------------------------------

def _numpy_globals() -> list:
    """What mmcv checkpoints may pickle besides tensors (numpy scalars and arrays in `meta`),
    under the module names of numpy 1 and 2."""
    import numpy as np

    core = np._core if hasattr(np, "_core") else np.core
    allowed = [np.ndarray, np.dtype]
    allowed += [type(np.dtype(c)) for c in "?" + np.typecodes["AllInteger"] + np.typecodes["AllFloat"]]
    for name in ("scalar", "_reconstruct"):
        allowed += [(getattr(core.multiarray, name), f"numpy.{module}.multiarray.{name}") for module in ("core", "_core")]
    return allowed


def read_official_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(state dict under the official names, meta) of an mmdet checkpoint, read without running
    anything it could contain."""
    ckpt = load_torch_file(path, _numpy_globals())
    if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
        raise LSNetError(f"{path} is already an lsnet checkpoint")
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise LSNetError(f"{path} is not an mmdet checkpoint (no state_dict of tensors)")
    meta = ckpt.get("meta") if isinstance(ckpt.get("meta"), dict) else {}
    return state, meta


# --- the config -------------------------------------------------------------------------------

class _Section:
    """One dict of the config, read with the defaults of its constructor and one-line errors."""

    def __init__(self, values, name: str, origin: str):
        if isinstance(values, Unreadable):
            raise LSNetError(f"config {origin}: {name} cannot be read ({values})")
        if not isinstance(values, dict):
            raise LSNetError(f"config {origin}: {name} is not a dict")
        self.values, self.name, self.origin = values, name, origin

    def _key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(self, key: str, default=None):
        value = self.values.get(key, default)
        if isinstance(value, Unreadable):
            raise LSNetError(f"config {self.origin}: {self._key(key)} cannot be read ({value})")
        return list(value) if isinstance(value, tuple) else value

    def require(self, key: str) -> int:
        value = self.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise LSNetError(f"config {self.origin}: {self._key(key)} must be a positive integer, not {value!r}")
        return value

    def section(self, key: str, default: dict | None = None) -> "_Section":
        value = self.values.get(key)
        return _Section(value if value is not None else (default or {}), self._key(key), self.origin)

    def unsupported(self, key: str, value, why: str) -> LSNetError:
        return LSNetError(f"config {self.origin}: {self._key(key)}={value!r} is not supported: {why}")

    def expect(self, key: str, default, allowed, why: str):
        value = self.get(key, default)
        if value not in allowed:
            raise self.unsupported(key, value, why)
        return value


def _gn_groups(section: _Section) -> int:
    norm = section.section("norm_cfg", {"type": None})
    if norm.get("type") != "GN":
        raise section.unsupported("norm_cfg", norm.values, "this model has GroupNorm there (docs/lsnet-official.md §1)")
    return norm.require("num_groups")


def _backbone(model: _Section) -> dict:
    bb = model.section("backbone")
    kind = bb.expect("type", None, ("ResNet", "ResNeXt"), "torchvision's ResNet / ResNeXt only")
    depth = bb.expect("depth", None, (18, 34, 50, 101, 152), "depths 18, 34, 50, 101, 152")
    for key, default, why in (("style", "pytorch", "the stride sits on the 3×3 conv here (style 'pytorch')"),
                              ("deep_stem", False, "ResNetV1d stems are not in torchvision's ResNet"),
                              ("avg_down", False, "ResNetV1d downsampling is not in torchvision's ResNet"),
                              ("plugins", None, "no backbone plugins here"),
                              ("num_stages", 4, "4 stages"), ("out_indices", [0, 1, 2, 3], "C2–C5 out"),
                              ("strides", [1, 2, 2, 2], "torchvision's strides"),
                              ("dilations", [1, 1, 1, 1], "no dilation")):
        bb.expect(key, default, (default,), why)
    bb.section("norm_cfg", {"type": "BN"}).expect("type", None, ("BN", "SyncBN"), "BatchNorm in the backbone")
    groups, width = (bb.get("groups", 1), bb.get("base_width", 4)) if kind == "ResNeXt" else (1, 64)
    return {"depth": depth, "groups": groups, "width_per_group": width, "dcn_stages": _backbone_dcn(bb),
            "frozen_stages": bb.get("frozen_stages", -1), "norm_eval": bb.get("norm_eval", True)}


def _backbone_dcn(bb: _Section) -> tuple[int, ...]:
    """mmdet's `dcn` + `stage_with_dcn` → `dcn_stages` (docs/lsnet-official.md §1): DCNv2 with one
    offset group in the 3×3 conv of every block of the chosen stages, as the 'dconv' configs have it."""
    if bb.get("dcn") is None:
        return ()
    dcn = bb.section("dcn")
    dcn.expect("type", None, ("DCNv2",), "the backbone's deformable convs are DCNv2 (mmcv ModulatedDeformConvPack)")
    for key in ("deformable_groups", "deform_groups"):  # mmdet 2.2's name, then mmcv's
        dcn.expect(key, 1, (1,), "one offset group")
    dcn.expect("fallback_on_stride", False, (False,), "DCNs in the strided blocks too")
    extra = sorted(set(dcn.values) - {"type", "deformable_groups", "deform_groups", "fallback_on_stride"})
    if extra:
        raise dcn.unsupported(extra[0], dcn.get(extra[0]), "a DCNv2 layer of the block's own shape")
    stages = bb.get("stage_with_dcn", [False] * 4)
    if not (isinstance(stages, list) and len(stages) == 4 and all(isinstance(v, bool) for v in stages)):
        raise bb.unsupported("stage_with_dcn", stages, "four True/False, one per stage")
    return tuple(i + 1 for i, on in enumerate(stages) if on)


def _neck(model: _Section, depth: int) -> dict:
    neck = model.section("neck")
    neck.expect("type", None, ("FPN",), "the FPN of docs/lsnet-official.md §1")
    c = [64, 128, 256, 512] if depth in (18, 34) else [256, 512, 1024, 2048]
    neck.expect("in_channels", c, (c,), f"ResNet-{depth} gives {c}")
    neck.expect("start_level", 0, (1,), "P3–P7 from C3–C5")
    neck.expect("end_level", -1, (-1,), "P3–P7 from C3–C5")
    neck.expect("num_outs", None, (5,), "five levels P3–P7")
    extra = neck.get("add_extra_convs", False)
    if not (extra == "on_input" or (extra is True and neck.get("extra_convs_on_inputs", True))):
        raise neck.unsupported("add_extra_convs", extra, "P6 is a conv on C5 here ('on_input')")
    neck.expect("relu_before_extra_convs", False, (False,), "no ReLU between P6 and P7")
    neck.expect("no_norm_on_lateral", False, (False,), "GroupNorm on every FPN conv")
    return {"fpn_channels": neck.require("out_channels"), "gn_groups": _gn_groups(neck)}


def _head(model: _Section, fpn_channels: int, gn_groups: int) -> dict:
    head = model.section("bbox_head")
    kind = head.get("type")
    if kind == "LSCPVHead":
        raise head.unsupported("type", kind, "the CPV variant (docs/lsnet-official.md §9) is not part of this model")
    head.expect("type", None, ("LSHead",), "LSHead")
    task_name = head.expect("task", "bbox", tuple(TASKS), f"one of {', '.join(TASKS)}")
    task, pose_box = TASKS[task_name]
    d = {k: head.get(k, v) for k, v in HEAD_DEFAULTS.items()}
    head.expect("num_vectors", 4, (NUM_VECTORS[task],), f"{task} has {NUM_VECTORS[task]} landmarks here")
    head.expect("in_channels", None, (fpn_channels,), "the head takes the FPN's channels")
    head.expect("point_feat_channels", 256, (d["feat_channels"],), "feat_channels and point_feat_channels are one width here")
    head.expect("num_kernel_points", 9, (9,), "3×3 DCNs")
    head.expect("conv_module_type", "norm", ("dcn", "norm"), "towers are 'dcn' or 'norm'")
    head.expect("conv_cfg", None, (None,), "plain convs")
    if _gn_groups(head) != gn_groups:
        raise head.unsupported("norm_cfg", head.get("norm_cfg"), f"one GroupNorm group count here (the FPN's {gn_groups})")
    return {"task": task, "pose_box": pose_box, "num_classes": head.require("num_classes"),
            "head_channels": d["feat_channels"], "stacked_convs": d["stacked_convs"], "tower": d["conv_module_type"],
            "gradient_mul": d["gradient_mul"], "strides": d["point_strides"], "point_base_scale": d["point_base_scale"]}


def _assigner(cfg: _Section, point_base_scale: int, notes: list[str]) -> dict:
    if "train_cfg" not in cfg.values:
        notes.append("no train_cfg: stage-1 pos_num 1, as in the official configs")
        return {}
    init = cfg.section("train_cfg").section("init").section("assigner")
    init.expect("type", None, ("CentroidAssigner",), "stage 1 is the CentroidAssigner (docs/lsnet-official.md §4.1)")
    init.expect("iou_type", "center", ("center",), "stage-1 points nearest the box centre")
    init.expect("scale", 4, (point_base_scale,), "one scale for the assigner and the head (point_base_scale)")
    refine = cfg.section("train_cfg").section("refine").section("assigner")
    refine.expect("type", None, ("ATSSAssigner",), "stage 2 is ATSS (docs/lsnet-official.md §4.2)")
    refine.expect("topk", 9, (9,), "ATSS with 9 candidates per level")
    return {"pos_num": init.get("pos_num", 3)}


def _test_settings(cfg: _Section, task: str, notes: list[str]) -> dict:
    defaults = dict(TEST_DEFAULTS[task])
    if "test_cfg" not in cfg.values:
        notes.append("no test_cfg: the official configs' thresholds")
        return defaults
    test = cfg.section("test_cfg")
    if test.get("method", "simple") != "simple":
        notes.append(f"test_cfg.method {test.get('method')!r} (test-time augmentation) is not reproduced: "
                     "single-scale decoding")
    nms = test.section("nms", {"type": "nms", "iou_thr": defaults["nms_iou_threshold"]})
    nms.expect("type", "nms", ("nms",), "hard NMS (docs/lsnet-official.md §8.2)")
    nms_pre = test.get("nms_pre", defaults["pre_nms_top_k"])
    if not isinstance(nms_pre, int) or nms_pre <= 0:
        raise test.unsupported("nms_pre", nms_pre, "a positive number of candidates per level")
    return {"pre_nms_top_k": nms_pre, "score_threshold": test.get("score_thr", defaults["score_threshold"]),
            "nms_iou_threshold": nms.get("iou_thr"), "max_detections": test.get("max_per_img", defaults["max_detections"])}


def _test_pipeline(cfg: _Section, notes: list[str]) -> tuple[dict, list[str] | None]:
    """(input size and normalisation, class names of the test dataset or None)."""
    test = cfg.section("data", {}).section("test", {})
    names = test.get("classes")
    if names is None:
        names = {"CocoDataset": coco_class_names(), "CocoPoseDataset": ["person"]}.get(test.get("type"))
    out = {}
    steps = test.get("pipeline")
    if steps is None:
        notes.append("no data.test.pipeline: input 800×1333 and the ImageNet mean/std")
        return out, names
    aug = next((s for s in steps if isinstance(s, dict) and s.get("type") == "MultiScaleFlipAug"), None)
    if aug is None:
        raise LSNetError(f"config {cfg.origin}: data.test.pipeline has no MultiScaleFlipAug (the test image size)")
    aug = _Section(aug, "data.test.pipeline[MultiScaleFlipAug]", cfg.origin)
    scale = aug.get("img_scale")
    if scale and isinstance(scale[0], (list, tuple)):
        if len(scale) > 1:
            notes.append(f"{len(scale)} test scales (test-time augmentation): only the first is used")
        scale = scale[0]
    if not (isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(v, int) and v > 0 for v in scale)):
        raise aug.unsupported("img_scale", scale, "one (long, short) size")
    if aug.get("flip", False):
        notes.append("flip test (test-time augmentation) is not reproduced")
    out["input_size"] = (min(scale), max(scale))
    for i, step in enumerate(aug.get("transforms", [])):
        step = _Section(step, f"data.test.pipeline[MultiScaleFlipAug].transforms[{i}]", cfg.origin)
        kind = step.get("type")
        if kind == "Resize":
            step.expect("keep_ratio", True, (True,), "keep-ratio resize (runtime/preprocess.py)")
        elif kind == "Normalize":
            step.expect("to_rgb", False, (True,), "the network input is RGB")
            out["mean"], out["std"] = step.get("mean"), step.get("std")
        elif kind == "Pad":
            step.expect("size", None, (None,), "padding to a multiple (size_divisor)")
            out["pad_divisor"] = step.get("size_divisor")
    return out, names


def options_from_config(config: dict, origin: str) -> tuple[dict, dict, list[str] | None, list[str]]:
    """(ModelConfig options, ModelDescription options, class names or None, notes) of an
    official config (merged dict)."""
    cfg = _Section(config, "", origin)
    model = cfg.section("model")
    if model.get("type") not in ("LSDetector", None):
        raise model.unsupported("type", model.get("type"), "the LSDetector (the CPV variant is not part of this model)")
    notes: list[str] = []
    options = _backbone(model)
    options |= _neck(model, options["depth"])
    options |= _head(model, options["fpn_channels"], options["gn_groups"])
    options |= _assigner(cfg, options["point_base_scale"], notes)
    description = _test_settings(cfg, options["task"], notes)
    preprocessing, names = _test_pipeline(cfg, notes)
    return options, description | preprocessing, names, notes


# --- the import -------------------------------------------------------------------------------

def _check_against_weights(options: dict, facts: dict, origin: str) -> None:
    wrong = [f"{key} {options[key]!r} (the weights: {facts[key]!r})" for key in facts
             if key in options and options[key] != facts[key]]
    if wrong:
        raise LSNetError(f"config {origin} does not match the weights: {'; '.join(wrong)}")


def _class_names(given: list[str] | None, meta: dict, from_config: list[str] | None, task: str,
                 num_classes: int) -> list[str]:
    """--class-names, else the checkpoint's meta CLASSES (mmdet writes the dataset's), else the
    config's dataset; else COCO's 80 or the person of the pose models."""
    classes = meta.get("CLASSES")
    if isinstance(classes, str):  # the pose dataset's CLASSES = ('person') is a string
        classes = [classes]
    for names, origin in ((given, "--class-names"), (classes, "the checkpoint's meta CLASSES"),
                          (from_config, "the config's dataset")):
        if names:
            names = [str(n) for n in names]
            if len(names) != num_classes:
                raise LSNetError(f"{origin} gives {len(names)} class names, the model has {num_classes} classes")
            return names
    if task != "pose" and num_classes == 80:
        return coco_class_names()
    if task == "pose" and num_classes == 1:
        return ["person"]
    raise LSNetError(f"the model has {num_classes} classes: give their names with --class-names")


def import_official(checkpoint: str | Path, config: str | Path | None = None, class_names: list[str] | None = None,
                    input_size: tuple[int, int] | None = None,
                    unofficial_options: dict[str, str] | None = None) -> ImportedModel:
    """The official checkpoint as an lsnet model and its description (module docstring)."""
    checkpoint = Path(checkpoint)
    official_state, meta = read_official_checkpoint(checkpoint)
    facts = weights_facts(from_official(official_state))
    notes: list[str] = []
    if config is not None:
        origin = Path(config).name
        parsed = read_config(config)
    elif isinstance(meta.get("config"), str):
        origin = f"{checkpoint.name} meta['config']"
        parsed = parse_config_text(meta["config"], origin)
    else:
        origin, parsed = "", None
    if parsed is not None:
        options, described, config_names, notes = options_from_config(parsed, origin)
        _check_against_weights(options, facts, origin)
        source = f"config {origin}"
    else:
        options, described, config_names = dict(facts), dict(TEST_DEFAULTS[facts["task"]]), None
        notes.append("no config: the architecture from the weights; GroupNorm groups, strides, gradient multiplier, "
                     "thresholds and input from the official R-50 configs")
        source = "the weights (no config)"
    asked = dict(unofficial_options or {})
    unknown = sorted(set(asked) - set(OFFICIAL_BEHAVIOUR))
    if unknown:
        raise LSNetError(f"--unofficial-option {unknown[0]}: only {', '.join(OFFICIAL_BEHAVIOUR)} can be set")
    options |= OFFICIAL_BEHAVIOUR | asked
    model_cfg = ModelConfig(**options)
    names = _class_names(class_names, meta, config_names, model_cfg.task, model_cfg.num_classes)
    if input_size is not None:
        described["input_size"] = tuple(input_size)
    described.setdefault("input_size", INPUT_SIZE)
    provenance = {"checkpoint": checkpoint.name, "options_from": source, "mmdet_version": str(meta.get("mmdet_version", "")),
                  "unofficial_options": asked}
    description = ModelDescription(
        task=model_cfg.task, class_names=names, strides=model_cfg.strides,
        box_source="side_midpoints" if model_cfg.task == "pose" and model_cfg.pose_box == "obj" else "",
        extra={PROVENANCE_KEY: provenance}, **described)
    model = LSNet(model_cfg)
    load_official(model, {"state_dict": official_state}, allow_unofficial_options=bool(asked))
    return ImportedModel(model.eval(), description, source, notes)
