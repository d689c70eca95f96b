"""LSNet checkpoints: the weights, the model config and the model description in one file.

    {"format": "lsnet-checkpoint", "version": 1, "model_config": {...}, "description": {...},
     "model": state_dict, "train": {...}  # optional: optimiser, iteration, RNG, history}

Written atomically (`lsnet.files.atomic_write`: a crash or a full disk never leaves a
half-written checkpoint under the real name) and read with `torch.load(weights_only=True)`;
`read_checkpoint` checks every part (the config, the description, and that they agree).
"""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError, first_line
from lsnet.files import atomic_write
from lsnet.landmarks import TASKS
from lsnet.model.config import ModelConfig
from lsnet.model.official import (check_official_provenance, describe_unofficial, official_provenance,
                                  unofficial_options)

FORMAT = "lsnet-checkpoint"
VERSION = 1


def atomic_torch_save(obj, path: str | Path) -> None:
    # Serialised in memory first: torch.save into a file that fails half-way (a full disk)
    # raises an opaque RuntimeError; the atomic writer reports the OSError in one line.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getbuffer())


def save_checkpoint(path: str | Path, model: torch.nn.Module, description: ModelDescription,
                    train_state: dict | None = None, half: bool = False) -> None:
    """`half=True` stores floating-point weights as float16 (a deploy checkpoint at half the
    size); loading casts them back to the model's float32."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {"format": FORMAT, "version": VERSION, "model_config": model.cfg.to_dict(),
               "description": description.to_dict(), "model": state}
    if train_state is not None:
        payload["train"] = train_state
    atomic_torch_save(payload, path)


def load_torch_file(path: str | Path, allowed_globals: list = ()):
    """`torch.load(weights_only=True)` of a file: tensors, containers and plain values only (plus
    `allowed_globals`), nothing in it executed; a one-line LSNetError for a missing, corrupt or
    refused file."""
    path = Path(path)
    if not path.is_file():
        raise LSNetError(f"checkpoint {path} not found")
    try:
        with torch.serialization.safe_globals(list(allowed_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
        refused = []
        if isinstance(e, pickle.UnpicklingError):
            try:
                refused = torch.serialization.get_unsafe_globals_in_checkpoint(path)
            except Exception:  # noqa: BLE001 - a file too damaged to list is reported as corrupt below
                refused = []
        if refused:
            raise LSNetError(f"{path} is not a readable checkpoint: refusing to unpickle {', '.join(refused[:3])} "
                             "(a checkpoint holds tensors, numbers and strings; anything else could run code)") from None
        raise LSNetError(f"{path} is not a readable checkpoint (corrupt or truncated?): {first_line(e)}") from None


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict, every part checked, or a one-line LSNetError saying what is wrong."""
    ckpt = load_torch_file(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        if isinstance(ckpt, dict) and "state_dict" in ckpt:
            raise LSNetError(f"{path} is an mmdet-format checkpoint; convert it first: "
                             f"lsnet import official {path} --config CONFIG.py --out MODEL.pt")
        raise LSNetError(f"{path} is not an lsnet checkpoint (no '{FORMAT}' format marker)")
    version = ckpt.get("version", 0)
    if not isinstance(version, int) or version > VERSION:
        raise LSNetError(f"{path} has checkpoint version {version!r}; this lsnet reads version {VERSION} "
                         "(a newer lsnet wrote it?)")
    for key in ("model_config", "description", "model"):
        if not isinstance(ckpt.get(key), dict):
            raise LSNetError(f"{path} is incomplete: its '{key}' is {'missing' if key not in ckpt else 'not a mapping'}")
    if not all(torch.is_tensor(v) for v in ckpt["model"].values()):
        raise LSNetError(f"{path}: its 'model' holds something other than tensors")
    checkpoint_description(ckpt, path)
    return ckpt


def checkpoint_description(ckpt: dict, path: str | Path) -> ModelDescription:
    """The description of a checkpoint read by `read_checkpoint`, checked against its model config:
    the classifier's classes, the task, the strides and the box branch must agree."""
    description = ModelDescription.from_dict(ckpt["description"], f"{path}: model description")
    config = ModelConfig.from_dict(ckpt["model_config"], f"{path}: model config")
    disagreements = []
    if config.task != description.task:
        disagreements.append(f"task {config.task} in the config, {description.task} in the description")
    if config.num_classes != description.num_classes:
        disagreements.append(f"{config.num_classes} classes in the config, {description.num_classes} class names "
                             "in the description")
    if config.strides != description.strides:
        disagreements.append(f"strides {list(config.strides)} in the config, {list(description.strides)} in the "
                             "description")
    side_midpoints = config.task == "pose" and config.pose_box == "obj"
    if side_midpoints != (description.box_source == "side_midpoints"):
        disagreements.append(f"pose_box {config.pose_box} in the config, box_source {description.box_source} in "
                             "the description")
    if disagreements:
        raise LSNetError(f"{path}: the model config and the description disagree ({'; '.join(disagreements)})")
    return description


def build_model(ckpt: dict, path: str | Path = "checkpoint"):
    """The model of a checkpoint, its weights loaded; refused if they are official weights under
    options they were not trained with (`lsnet.model.official.check_official_provenance`)."""
    from lsnet.model.lsnet import LSNet

    cfg = ModelConfig.from_dict({**ckpt["model_config"], "pretrained": ""}, f"{path}: model config")
    check_official_provenance(cfg, ckpt.get("description") or {}, str(path))
    model = LSNet(cfg)
    try:
        model.load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise LSNetError(f"{path}: weights do not match the model config stored with them "
                         f"({first[1].strip() if len(first) > 1 else first[0]})") from None
    return model


def load_model(path: str | Path):
    """(LSNet in eval mode, ModelDescription) from a checkpoint file."""
    ckpt = read_checkpoint(path)
    model = build_model(ckpt, path)
    return model.eval(), checkpoint_description(ckpt, path)


def load_matching_weights(model: torch.nn.Module, path: str | Path,
                          allow_unofficial_options: bool = False) -> tuple[int, list[str]]:
    """Initialise `model` from another lsnet checkpoint (mmdet's `load_from`): every weight whose
    name and shape match is copied, e.g. backbone, FPN and towers of a bbox model into a segm or pose model
    (a layer of the other task's landmark branch counts as the same name); layers of other shapes,
    such as the landmark outputs, keep their init. Returns (copied, names left as they were).

    Official weights (imported) into a model whose options differ from theirs are refused unless
    `allow_unofficial_options` (the training key of that name)."""
    ckpt = read_checkpoint(path)
    official = official_provenance(ckpt.get("description") or {})
    different = unofficial_options(model.cfg, ckpt["model_config"].get("task")) if official else {}
    if different and not allow_unofficial_options:
        raise LSNetError(f"load_from {path} holds official LSNet weights, trained with other options than this run's: "
                         f"{describe_unofficial(different)}; set the official values, or "
                         "allow_unofficial_options=true to start from them anyway")
    source = ckpt["model"]
    state = model.state_dict()
    matching = {}
    for key, target in state.items():
        # the landmark branch's layers are named by task (bbox_convs, segm_convs, pose_convs …)
        for name in (key, *(key.replace(task, other) for task in TASKS for other in TASKS)):
            if name in source and source[name].shape == target.shape:
                matching[key] = source[name].to(target.dtype)
                break
    if not matching:
        raise LSNetError(f"load_from {path}: no weight matches this model (another backbone depth or width?)")
    model.load_state_dict(matching, strict=False)
    return len(matching), sorted(k for k in state if k not in matching)
