"""Reading COCO annotation files (no torch: `lsnet eval` of an .onnx model needs only this).

`load_coco` checks a file where it enters, with the rules of its use (README "Guarantees"):
- always: the structure pycocotools indexes (images with unique ids, sizes and file names;
  categories with unique ids and names; annotations that are mappings);
- `evaluation=True` (`lsnet eval`, a training run's val split), what COCOeval needs to score
  correctly and otherwise mis-scores silently or crashes on: positive, unique annotation ids
  (0 and duplicates break its matching), annotations of existing images and categories, a
  finite, non-degenerate `bbox` and an `area`; by task, polygons of ≥ 3 points or RLE
  (segm), 17 keypoints and `num_keypoints` (pose); at least one image.
A training split is read leniently instead: the dataset skips unusable annotations and counts them
(`lsnet.data.coco`). `check_images_exist` refuses a set whose image files are not there.
"""
from __future__ import annotations

import io
import json
import os
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

from pycocotools.coco import COCO

from lsnet.errors import LSNetError
from lsnet.validation import is_int, is_number

KEYPOINT_VALUES = 51  # 17 COCO keypoints × (x, y, visibility)


def _first(problems: list[str], what: str, path: Path) -> None:
    """One line for a list of problems: the first and how many there are."""
    if problems:
        more = f" (and {len(problems) - 1} more {what})" if len(problems) > 1 else ""
        raise LSNetError(f"annotation file {path}: {problems[0]}{more}")


def _check_structure(data: dict, path: Path) -> None:
    problems = []
    ids = Counter()
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or not is_int(image.get("id")):
            problems.append(f"image entry {i} has no integer id")
        elif not (isinstance(image.get("file_name"), str) and image["file_name"]):
            problems.append(f"image {image['id']} has no file_name")
        elif not all(is_int(image.get(k)) and image[k] > 0 for k in ("height", "width")):
            problems.append(f"image {image['id']} has no valid height/width")
        else:
            ids[image["id"]] += 1
    problems += [f"image id {i} is used {n} times" for i, n in ids.items() if n > 1]
    _first(problems, "image problems", path)
    if not data["categories"]:
        raise LSNetError(f"annotation file {path} has no categories")
    cats = Counter()
    for i, cat in enumerate(data["categories"]):
        if not isinstance(cat, dict) or not is_int(cat.get("id")) or not isinstance(cat.get("name"), str):
            problems.append(f"category entry {i} needs an integer id and a name")
        else:
            cats[cat["id"]] += 1
    problems += [f"category id {i} is used {n} times" for i, n in cats.items() if n > 1]
    problems += [f"annotation entry {i} is not a mapping" for i, a in enumerate(data["annotations"])
                 if not isinstance(a, dict)]
    _first(problems, "problems", path)


def _polygon_problem(segmentation) -> str | None:
    if isinstance(segmentation, dict):  # RLE
        if "counts" not in segmentation or not isinstance(segmentation.get("size"), list):
            return "an RLE segmentation without counts and size"
        return None
    if not isinstance(segmentation, list) or not segmentation:
        return "no segmentation (polygons or RLE)"
    for polygon in segmentation:
        if (not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2
                or not all(is_number(v) for v in polygon)):
            return "a polygon of fewer than 3 points or with non-numeric coordinates"
    return None


def _annotation_problem(ann: dict, images: set, categories: set, task: str | None) -> str | None:
    """What in one annotation makes COCOeval crash or mis-score (module docstring)."""
    if ann.get("image_id") not in images:
        return f"refers to image {ann.get('image_id')!r}, which the file does not list"
    if ann.get("category_id") not in categories:
        return f"refers to category {ann.get('category_id')!r}, which the file does not list"
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) for v in bbox)):
        return "has no bbox [x, y, w, h] of finite numbers"
    if not ann.get("iscrowd", 0) and (bbox[2] <= 0 or bbox[3] <= 0):
        return f"has a degenerate bbox {bbox} (width or height ≤ 0)"
    if not (is_number(ann.get("area")) and ann["area"] >= 0):
        return "has no area"
    if ann.get("iscrowd", 0) not in (0, 1):
        return f"has iscrowd {ann['iscrowd']!r} (0 or 1)"
    if task == "segm" and (problem := _polygon_problem(ann.get("segmentation"))):
        return f"has {problem}"
    if task == "pose":
        keypoints = ann.get("keypoints")
        if not (isinstance(keypoints, list) and len(keypoints) == KEYPOINT_VALUES
                and all(is_number(v) for v in keypoints)):
            return f"has no {KEYPOINT_VALUES // 3} keypoints (a list of {KEYPOINT_VALUES} numbers)"
        if not (is_int(ann.get("num_keypoints")) and ann["num_keypoints"] >= 0):
            return "has no num_keypoints"
    return None


def _check_for_evaluation(data: dict, path: Path, task: str | None) -> None:
    if not data["images"]:
        raise LSNetError(f"annotation file {path} has no images: nothing to evaluate")
    ids = Counter(a.get("id") for a in data["annotations"])
    bad_ids = [i for i in ids if not (is_int(i) and i > 0)]
    if bad_ids:
        raise LSNetError(f"annotation file {path}: annotation ids must be positive integers, found {bad_ids[0]!r} "
                         f"({ids[bad_ids[0]]}×); COCOeval takes id 0 for 'unmatched' and would mis-score")
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        raise LSNetError(f"annotation file {path}: {len(duplicates)} annotation ids are used more than once "
                         f"(e.g. {duplicates[0]}, {ids[duplicates[0]]}×); COCOeval would mis-score: renumber them")
    images = {image["id"] for image in data["images"]}
    categories = {cat["id"] for cat in data["categories"]}
    problems = [f"annotation {ann['id']} {problem}" for ann in data["annotations"]
                if (problem := _annotation_problem(ann, images, categories, task))]
    _first(problems, "annotation problems", path)


def load_coco(ann_file: str | os.PathLike, task: str | None = None, evaluation: bool = False) -> COCO:
    """Read and check a COCO json quietly (module docstring); any problem is a one-line `LSNetError`."""
    path = Path(ann_file)
    if not path.is_file():
        raise LSNetError(f"annotation file {path} does not exist")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as e:
        raise LSNetError(f"annotation file {path} is not valid JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("categories"), list):
        raise LSNetError(f"annotation file {path} is not COCO format (needs 'images' and 'categories' lists)")
    data.setdefault("annotations", [])
    if not isinstance(data["annotations"], list):
        raise LSNetError(f"annotation file {path} is not COCO format ('annotations' is not a list)")
    _check_structure(data, path)
    for ann in data["annotations"]:
        ann.setdefault("iscrowd", 0)
    if evaluation:
        _check_for_evaluation(data, path, task)
    coco = COCO()
    coco.dataset = data
    try:
        with redirect_stdout(io.StringIO()):
            coco.createIndex()
    except (KeyError, TypeError) as e:
        raise LSNetError(f"annotation file {path} is not COCO format (an entry lacks {e})") from None
    return coco


def check_images_exist(coco: COCO, image_dir: str | os.PathLike, image_ids=None) -> None:
    """LSNetError naming the image files of `image_ids` (default: all) that are not in `image_dir`."""
    folder = Path(image_dir)
    ids = sorted(coco.imgs) if image_ids is None else image_ids
    missing = [coco.imgs[i]["file_name"] for i in ids if not (folder / coco.imgs[i]["file_name"]).is_file()]
    if missing:
        raise LSNetError(f"{len(missing)} of the {len(ids)} images are missing from {folder} (e.g. {missing[0]})")
