"""The training configuration: `lsnet/default.yaml`, overridden by a run file and `key=value`s.

Every key is checked for type and range once it is resolved (`RULES`), so `batch=0`,
`batch=2.5`, `device=tpu` or `imgsz=[a,b]` are one line before any work starts. Relative paths
in a config file (`data`, `load_from`, `pretrained`) are relative to that file, so a config
works from any folder; on the command line they are relative to the current folder, as any
command-line path. The config saved with a run holds absolute paths, so it resumes from anywhere.
"""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import yaml

from lsnet import validation as check
from lsnet.errors import LSNetError, first_line
from lsnet.files import atomic_write
from lsnet.landmarks import TASKS
from lsnet.model.config import DEPTHS, PDCN_OFFSET_MODES, POSE_BOXES, POSE_TAPS, TOWERS

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "default.yaml"
REPOSITORY_CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # in a clone of the repository
# What the small configs (configs/synth_*_r10.yaml) change most, for where the configs are not at hand.
SMALL_MODEL_KEYS = "depth=10 imgsz=[192,192] fpn_channels=64 head_channels=64 tower=norm"
MODEL_KEYS = ("task", "depth", "groups", "width_per_group", "dcn_stages", "pretrained", "frozen_stages", "norm_eval",
              "fpn_channels", "head_channels", "gn_groups", "stacked_convs", "tower", "pdcn_offsets",
              "pose_box", "pose_taps", "gradient_mul", "point_base_scale", "pos_num")
PATH_KEYS = ("data", "load_from", "pretrained")  # input paths: relative to the config file that names them
WHERE = "config"


def _imgsz(value, name: str, where: str) -> list[int]:
    return check.integers(value, f"{name} [H, W]", where, length=2, minimum=32)


def _device(value, name: str, where: str) -> str:
    check.text(value, name, where)
    if value not in ("auto", "cpu", "cuda") and not (value.startswith("cuda:") and value[5:].isdigit()):
        raise LSNetError(f"{where}: {name} must be auto, cpu, cuda or cuda:N, got {value!r}")
    return value


def _int(minimum=None, maximum=None):
    return partial(check.integer, minimum=minimum, maximum=maximum)


def _num(minimum=None, maximum=None, above=None):
    return partial(check.number, minimum=minimum, maximum=maximum, above=above)


def _one_of(choices):
    return partial(check.choice, choices=choices)


def _text(allow_empty=True):
    return partial(check.text, allow_empty=allow_empty)


# key → check(value, name, where): the type and range of every key of default.yaml.
RULES = {
    "data": _text(), "task": _one_of(TASKS), "imgsz": _imgsz, "flip": check.probability, "workers": _int(0),
    "scale_range": partial(check.numbers, length=2, above=0),
    "depth": _one_of(DEPTHS), "groups": _int(1), "width_per_group": _int(1), "pretrained": _text(),
    "dcn_stages": partial(check.integer_set, minimum=1, maximum=4),
    "load_from": _text(), "allow_unofficial_options": check.flag, "frozen_stages": _int(-1, 4), "norm_eval": check.flag, "fpn_channels": _int(1),
    "head_channels": _int(1), "gn_groups": _int(1), "stacked_convs": _int(0), "tower": _one_of(TOWERS),
    "pdcn_offsets": _one_of(PDCN_OFFSET_MODES), "pose_box": _one_of(POSE_BOXES), "pose_taps": _one_of(tuple(POSE_TAPS)),
    "gradient_mul": _num(0, 1), "point_base_scale": _int(1), "pos_num": _int(1),
    "focal_alpha": check.probability, "focal_gamma": _num(0), "init_weight": _num(0), "refine_weight": _num(0),
    "cross_iou_alpha": check.probability,
    "epochs": _int(1), "max_iters": _int(0), "batch": _int(1), "optimizer": _one_of(("sgd", "adamw")),
    "lr": _num(above=0), "momentum": _num(0, 1), "weight_decay": _num(0), "warmup_iters": _int(0),
    "warmup_ratio": _num(0, 1, above=0), "lr_steps": partial(check.numbers, min_length=0, minimum=0),
    "grad_clip": _num(0), "amp": check.flag, "device": _device, "seed": _int(0),
    "eval_interval": _int(0), "eval_images": _int(0), "pre_nms_top_k": _int(1), "score_threshold": check.probability,
    "nms_iou_threshold": _num(0, 1, above=0), "max_detections": _int(1), "out": _text(allow_empty=False),
}


def defaults() -> dict:
    return yaml.safe_load(DEFAULTS_FILE.read_text())


def _read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise LSNetError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise LSNetError(f"config file {path} is not valid YAML: {first_line(e)}") from None
    if not isinstance(data, dict):
        raise LSNetError(f"config file {path} must be a mapping of keys to values")
    return data


def _check_keys(overrides: dict, valid: dict, origin: str) -> None:
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise LSNetError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))} in "
                         f"{origin}; valid keys: {', '.join(valid)}")


def _coerce(key: str, value, default):
    """A command-line value parsed as YAML (lists as [a, b]); ints where the default is a float."""
    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise LSNetError(f"{WHERE}: {key}: cannot read {value!r} (YAML syntax, e.g. [1, 2] for a list)") from None
        if isinstance(value, str) and isinstance(default, (int, float)) and not isinstance(default, bool):
            try:  # YAML 1.1 reads "1e30" as a string
                value = float(value)
            except ValueError:
                pass
    if isinstance(default, float) and check.is_int(value):
        value = float(value)
    return value


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise LSNetError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def _resolve_paths(layer: dict, folder: Path) -> dict:
    """A config file's relative input paths, made absolute against the file's folder."""
    return {k: str((folder / v).resolve()) if k in PATH_KEYS and isinstance(v, str) and v and not Path(v).is_absolute()
            else v for k, v in layer.items()}


def check_config(cfg: dict) -> dict:
    """Every key's type and range (`RULES`); returns `cfg`."""
    for key, rule in RULES.items():
        rule(cfg[key], key, WHERE)
    return cfg


def resolve(config_file: str | Path | None, overrides: dict, base: dict | None = None) -> dict:
    """defaults ← `base` (e.g. a resumed run's config) ← config file ← overrides, all checked."""
    cfg = defaults()
    if base:
        cfg.update(base)
    layers = [(_resolve_paths(_read_yaml(config_file), Path(config_file).parent), str(config_file))] \
        if config_file else []
    layers.append((overrides, "the command line"))
    for layer, origin in layers:
        _check_keys(layer, cfg, origin)
        for key, value in layer.items():
            cfg[key] = _coerce(key, value, cfg[key])
    return check_config(cfg)


def saved_form(cfg: dict) -> dict:
    """The config as a run keeps it: input paths and `out` absolute, so it resumes from any folder."""
    return {k: str(Path(v).resolve()) if (k in PATH_KEYS or k == "out") and isinstance(v, str) and v else v
            for k, v in cfg.items()}


def small_config(task: str) -> Path | None:
    """The committed config of `task`'s small model (configs/synth_TASK_r10.yaml: a ResNet-10 at
    192×192 that trains on a 2-core CPU in about 30 minutes), where this is a clone of the repository."""
    path = REPOSITORY_CONFIGS / f"synth_{task}_r10.yaml"
    return path if path.is_file() else None


def slow_on_cpu(cfg: dict) -> bool:
    """A ResNet-50 or deeper, or a canvas beyond 512×512: the default (R-50 at 800×1333) does not
    finish one iteration in 100 s on a 2-core CPU."""
    return cfg["depth"] >= 50 or cfg["imgsz"][0] * cfg["imgsz"][1] > 512 * 512


def train_command_for_cpu(task: str, data: str) -> str:
    """`lsnet train …` for a model that trains on a CPU: the small config, or its main keys."""
    path = small_config(task)
    if path is None:
        return f"lsnet train data={data} task={task} {SMALL_MODEL_KEYS}"
    shown = os.path.relpath(path)
    return f"lsnet train {path if shown.startswith('..') else shown} data={data}"


def dump(cfg: dict, path: str | Path) -> None:
    atomic_write(path, yaml.safe_dump(saved_form(cfg), sort_keys=False))
