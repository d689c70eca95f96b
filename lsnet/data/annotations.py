"""Reading COCO annotation files (no torch: `lsnet eval` of an .onnx model needs only this)."""
from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path

from pycocotools.coco import COCO

from lsnet.errors import LSNetError


def load_coco(ann_file: str | os.PathLike) -> COCO:
    """Read a COCO json quietly; a missing or malformed file is a one-line `LSNetError`."""
    path = Path(ann_file)
    if not path.is_file():
        raise LSNetError(f"annotation file {path} does not exist")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:
        raise LSNetError(f"annotation file {path} is not valid JSON ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("categories"), list):
        raise LSNetError(f"annotation file {path} is not COCO format (needs 'images' and 'categories' lists)")
    data.setdefault("annotations", [])
    for ann in data["annotations"]:
        if isinstance(ann, dict):
            ann.setdefault("iscrowd", 0)
    coco = COCO()
    coco.dataset = data
    try:
        with redirect_stdout(io.StringIO()):
            coco.createIndex()
    except (KeyError, TypeError) as e:
        raise LSNetError(f"annotation file {path} is not COCO format (an entry lacks {e})") from e
    return coco
