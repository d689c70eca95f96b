"""The training configuration: `lsnet/default.yaml`, overridden by a run file and `key=value`s."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from lsnet.errors import LSNetError

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "default.yaml"
REPOSITORY_CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # in a clone of the repository
# What the small configs (configs/synth_*_r10.yaml) change most, for where the configs are not at hand.
SMALL_MODEL_KEYS = "depth=10 imgsz=[192,192] fpn_channels=64 head_channels=64 tower=norm"
MODEL_KEYS = ("task", "depth", "groups", "width_per_group", "pretrained", "frozen_stages", "norm_eval",
              "fpn_channels", "head_channels", "gn_groups", "stacked_convs", "tower", "pdcn_offsets",
              "pose_box", "pose_taps", "gradient_mul", "point_base_scale", "pos_num")


def defaults() -> dict:
    return yaml.safe_load(DEFAULTS_FILE.read_text())


def _read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise LSNetError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise LSNetError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise LSNetError(f"config file {path} must be a mapping of keys to values")
    return data


def _check_keys(overrides: dict, valid: dict, origin: str) -> None:
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise LSNetError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in {origin}; "
                         f"valid keys: {', '.join(valid)}")


def _coerce(key: str, value, default):
    """Parse a command-line value to the default's type (YAML syntax: lists as [a, b])."""
    if isinstance(value, str) and not isinstance(default, str):
        value = yaml.safe_load(value)
        if isinstance(value, str) and isinstance(default, (int, float)) and not isinstance(default, bool):
            try:  # YAML 1.1 reads "1e30" as a string
                value = float(value)
            except ValueError:
                pass
    if isinstance(default, bool) and not isinstance(value, bool):
        raise LSNetError(f"config key {key} must be true or false, got {value!r}")
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(default, (int, float)) and not isinstance(default, bool) and not isinstance(value, (int, float)):
        raise LSNetError(f"config key {key} must be a number, got {value!r}")
    if isinstance(default, list) and not isinstance(value, list):
        raise LSNetError(f"config key {key} must be a list like [1, 2], got {value!r}")
    return value


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise LSNetError(f"override {item!r} is not of the form key=value")
        key, value = item.split("=", 1)
        out[key.strip()] = value
    return out


def resolve(config_file: str | Path | None, overrides: dict, base: dict | None = None) -> dict:
    """defaults ← `base` (e.g. a resumed run's config) ← config file ← overrides, all checked."""
    cfg = defaults()
    if base:
        cfg.update(base)
    layers = [(_read_yaml(config_file), str(config_file))] if config_file else []
    layers.append((overrides, "the command line"))
    for layer, origin in layers:
        _check_keys(layer, cfg, origin)
        for key, value in layer.items():
            cfg[key] = _coerce(key, value, cfg[key])
    if len(cfg["imgsz"]) != 2:
        raise LSNetError(f"config key imgsz must be [H, W], got {cfg['imgsz']}")
    return cfg


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
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
