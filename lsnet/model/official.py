"""Official (mmdet 2.2) LSNet weights ↔ this model (docs/lsnet-official.md §10).

Backbone and head names are identical (torchvision ResNet names; the head keeps the
official module names); only the prefix `bbox_head.` → `head.` and the neck differ,
because the neck is torchvision's FeaturePyramidNetwork. Official weights were trained with
behaviours this model makes options of — the cumulative pyramid-DCN offsets (§2.5), the
left-side pose taps (§2.4) — so a model that loads them must have those options
(`OFFICIAL_BEHAVIOUR`), unless asked otherwise. `lsnet import official` (lsnet.model.official_import)
turns an official checkpoint and its config into an lsnet checkpoint.
"""
from __future__ import annotations

import re

from lsnet.errors import LSNetError, first_line
from lsnet.model.config import ModelConfig

# The options whose non-default values the official code has no switch for: its weights were
# trained with these (docs/lsnet-official.md §2.4, §2.5). pose_taps matters for pose models only.
OFFICIAL_BEHAVIOUR = {"pdcn_offsets": "cumulative", "pose_taps": "official"}
# Where an lsnet checkpoint's description says its weights came from the official code.
PROVENANCE_KEY = "official_weights"

# (official name prefix, ours): the neck's modules (torchvision's FeaturePyramidNetwork names here, {i}
# a lateral or output level 0–2), the head's prefix; the backbone's names are the same.
_PREFIXES = [
    ("neck.lateral_convs.{i}.conv.", "neck.fpn.inner_blocks.{i}.0."),
    ("neck.lateral_convs.{i}.gn.", "neck.fpn.inner_blocks.{i}.1."),
    ("neck.fpn_convs.{i}.conv.", "neck.fpn.layer_blocks.{i}.0."),
    ("neck.fpn_convs.{i}.gn.", "neck.fpn.layer_blocks.{i}.1."),
    ("neck.fpn_convs.3.conv.", "neck.fpn.extra_blocks.p6.0."),
    ("neck.fpn_convs.3.gn.", "neck.fpn.extra_blocks.p6.1."),
    ("neck.fpn_convs.4.conv.", "neck.fpn.extra_blocks.p7.0."),
    ("neck.fpn_convs.4.gn.", "neck.fpn.extra_blocks.p7.1."),
    ("bbox_head.", "head."),
    ("backbone.", "backbone."),
]


def _rules(pairs, forward: bool) -> list[tuple[str, str]]:
    """(regex, replacement) from prefix pairs, official → ours when `forward`, else back; first match wins."""
    rules = []
    for official, ours in pairs:
        source, target = (official, ours) if forward else (ours, official)
        rules.append((re.escape(source).replace(re.escape("{i}"), "([0-2])"), target.replace("{i}", r"\1")))
    return rules


_NECK, _REVERSE = _rules(_PREFIXES, forward=True), _rules(_PREFIXES, forward=False)


def _rename(key: str, rules) -> str | None:
    for pattern, replacement in rules:
        if re.match(pattern, key):
            return re.sub(pattern, replacement, key, count=1)
    return None


def from_official(state_dict: dict) -> dict:
    """An mmdet `state_dict` → this model's names (raises on keys it does not know)."""
    out, unknown = {}, []
    for key, value in state_dict.items():
        ours = _rename(key, _NECK)
        if ours is None:
            unknown.append(key)
        else:
            out[ours] = value
    if unknown:
        raise LSNetError(f"not an LSNet checkpoint: {len(unknown)} unexpected keys, e.g. {unknown[0]}")
    return out


def to_official(state_dict: dict) -> dict:
    """This model's state dict under the official mmdet names."""
    return {_rename(k, _REVERSE): v for k, v in state_dict.items()}


def unofficial_options(cfg: ModelConfig, weights_task: str | None = None) -> dict[str, tuple[str, str]]:
    """{option: (this model's value, the official one)} of every `OFFICIAL_BEHAVIOUR` option
    that `cfg` sets otherwise. pose_taps counts only where both the model and the weights
    (`weights_task`, default the model's) are pose."""
    out = {}
    for key, official in OFFICIAL_BEHAVIOUR.items():
        if key == "pose_taps" and not (cfg.task == "pose" and (weights_task or cfg.task) == "pose"):
            continue
        if getattr(cfg, key) != official:
            out[key] = (getattr(cfg, key), official)
    return out


def describe_unofficial(options: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{k} {ours!r} (official {official!r})" for k, (ours, official) in options.items())


def load_official(model, checkpoint: dict, allow_unofficial_options: bool = False) -> None:
    """Load an official `{'state_dict': …}` (or a bare state dict) strictly into `model`.

    Refused if the model's options differ from what official weights were trained with
    (`OFFICIAL_BEHAVIOUR`), unless `allow_unofficial_options`."""
    different = unofficial_options(model.cfg)
    if different and not allow_unofficial_options:
        raise LSNetError(f"official weights were trained with other options than this model's: "
                         f"{describe_unofficial(different)}; use the official ones, or allow_unofficial_options")
    state = checkpoint.get("state_dict", checkpoint)
    try:
        model.load_state_dict(from_official(state), strict=True)
    except RuntimeError as e:
        raise LSNetError(f"official checkpoint does not fit this model: {first_line(e)}") from None


def official_provenance(description: dict) -> dict | None:
    """What a checkpoint's description records of official weights (`lsnet import official`), or None."""
    record = (description.get("extra") or {}).get(PROVENANCE_KEY)
    return record if isinstance(record, dict) else None


def check_official_provenance(cfg: ModelConfig, description: dict, origin: str) -> None:
    """Refuse an lsnet checkpoint whose weights came from the official code (its description's
    `extra` says so) when its model options differ from the official ones, unless the import
    was asked for those values (`lsnet import official --unofficial-option KEY=VALUE`)."""
    provenance = official_provenance(description)
    if provenance is None:
        return
    asked = provenance.get("unofficial_options") or {}
    different = {k: v for k, v in unofficial_options(cfg).items() if asked.get(k) != v[0]}
    if different:
        key, (ours, _) = next(iter(different.items()))
        raise LSNetError(f"{origin} holds official LSNet weights, but its model options differ from theirs: "
                         f"{describe_unofficial(different)}; re-import them with `lsnet import official` "
                         f"(--unofficial-option {key}={ours} asks for this on purpose)")


# --- what the weights determine ---------------------------------------------------------------

# (bottleneck blocks?, blocks per stage) → depth: torchvision's ResNets, and depth 10 of this project
_DEPTHS = {(False, (1, 1, 1, 1)): 10, (False, (2, 2, 2, 2)): 18, (False, (3, 4, 6, 3)): 34,
           (True, (3, 4, 6, 3)): 50, (True, (3, 4, 23, 3)): 101, (True, (3, 8, 36, 3)): 152}
_BRANCHES_TO_TASK = {("bbox",): ("bbox", "obj"), ("segm",): ("segm", "obj"), ("bbox", "pose"): ("pose", "obj"),
                     ("pose",): ("pose", "kps")}


def weights_facts(state: dict) -> dict:
    """The model options a state dict (this model's names) determines: task and pose_box (from
    the head's branches), depth, groups and width_per_group (backbone blocks and conv shapes),
    dcn_stages (the stages whose convs have a `conv_offset`), num_classes (the classifier), tower, stacked_convs and the channel widths."""
    def shape(key: str) -> tuple[int, ...]:
        if key not in state:
            raise LSNetError(f"not an LSNet state dict: it has no {key}")
        return tuple(state[key].shape)

    branches = tuple(b for b in ("bbox", "segm", "pose") if f"head.pts_{b}_init_out.weight" in state)
    if branches not in _BRANCHES_TO_TASK:
        raise LSNetError(f"not an LSNet state dict: head branches {list(branches) or 'none'}")
    task, pose_box = _BRANCHES_TO_TASK[branches]
    bottleneck = "backbone.layer1.0.conv3.weight" in state
    blocks = tuple(len({k.split(".")[2] for k in state if k.startswith(f"backbone.layer{i}.")}) for i in range(1, 5))
    if (bottleneck, blocks) not in _DEPTHS:
        raise LSNetError(f"backbone with {blocks} {'bottleneck' if bottleneck else 'basic'} blocks per stage "
                         "is not a ResNet this model builds")
    conv2 = shape("backbone.layer1.0.conv2.weight")
    groups = conv2[0] // conv2[1] if bottleneck else 1
    dcn_stages = tuple(i for i in range(1, 5) if any(re.match(rf"backbone\.layer{i}\.\d+\.conv2\.conv_offset\.", k)
                                                     for k in state))
    return {"task": task, "pose_box": pose_box, "depth": _DEPTHS[bottleneck, blocks], "groups": groups,
            "width_per_group": conv2[1] if bottleneck else 64, "dcn_stages": dcn_stages,
            "num_classes": shape("head.pts_cls_out.weight")[0],
            "tower": "dcn" if "head.cls_convs.0.conv.conv_offset.weight" in state else "norm",
            "stacked_convs": len({k.split(".")[2] for k in state if k.startswith("head.cls_convs.")}),
            "fpn_channels": shape("neck.fpn.inner_blocks.0.0.weight")[0],
            "head_channels": shape("head.cls_convs.0.conv.weight")[0]}
