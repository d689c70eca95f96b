"""Official (mmdet 2.2) LSNet checkpoints ↔ this model (docs/lsnet-official.md §10).

Backbone and head names are identical (torchvision ResNet names; the head keeps the
official module names); only the prefix `bbox_head.` → `head.` and the neck differ,
because the neck is torchvision's FeaturePyramidNetwork. Official weights were trained with
the cumulative pyramid-DCN offsets, so use `pdcn_offsets='cumulative'` with them (docs/lsnet-official.md §2.5).
"""
from __future__ import annotations

import re

from lsnet.errors import LSNetError

# (official pattern, ours) — applied in order, first match wins
_NECK = [
    (r"neck\.lateral_convs\.(\d)\.conv\.", r"neck.fpn.inner_blocks.\1.0."),
    (r"neck\.lateral_convs\.(\d)\.gn\.", r"neck.fpn.inner_blocks.\1.1."),
    (r"neck\.fpn_convs\.([0-2])\.conv\.", r"neck.fpn.layer_blocks.\1.0."),
    (r"neck\.fpn_convs\.([0-2])\.gn\.", r"neck.fpn.layer_blocks.\1.1."),
    (r"neck\.fpn_convs\.3\.conv\.", "neck.fpn.extra_blocks.p6.0."),
    (r"neck\.fpn_convs\.3\.gn\.", "neck.fpn.extra_blocks.p6.1."),
    (r"neck\.fpn_convs\.4\.conv\.", "neck.fpn.extra_blocks.p7.0."),
    (r"neck\.fpn_convs\.4\.gn\.", "neck.fpn.extra_blocks.p7.1."),
    (r"bbox_head\.", "head."),
    (r"backbone\.", "backbone."),
]
_REVERSE = [
    (r"neck\.fpn\.inner_blocks\.(\d)\.0\.", r"neck.lateral_convs.\1.conv."),
    (r"neck\.fpn\.inner_blocks\.(\d)\.1\.", r"neck.lateral_convs.\1.gn."),
    (r"neck\.fpn\.layer_blocks\.(\d)\.0\.", r"neck.fpn_convs.\1.conv."),
    (r"neck\.fpn\.layer_blocks\.(\d)\.1\.", r"neck.fpn_convs.\1.gn."),
    (r"neck\.fpn\.extra_blocks\.p6\.0\.", "neck.fpn_convs.3.conv."),
    (r"neck\.fpn\.extra_blocks\.p6\.1\.", "neck.fpn_convs.3.gn."),
    (r"neck\.fpn\.extra_blocks\.p7\.0\.", "neck.fpn_convs.4.conv."),
    (r"neck\.fpn\.extra_blocks\.p7\.1\.", "neck.fpn_convs.4.gn."),
    (r"head\.", "bbox_head."),
    (r"backbone\.", "backbone."),
]


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


def load_official(model, checkpoint: dict) -> None:
    """Load an official `{'state_dict': …}` (or a bare state dict) strictly into `model`."""
    state = checkpoint.get("state_dict", checkpoint)
    try:
        model.load_state_dict(from_official(state), strict=True)
    except RuntimeError as e:
        raise LSNetError(f"official checkpoint does not fit this model: {str(e).splitlines()[0]}") from None
