"""Deterministic synthetic COCO-format datasets for the three tasks (`lsnet data synth`).

Layout (docs/architecture.md §2): `DIR/annotations/{train,val}.json`, JPEG images in `DIR/{train,val}/`.
Image i of a split comes from `np.random.default_rng([seed, split_id, i, stream])`: stream 0
draws the geometry (everything the json holds), stream 1 the appearance (background, colours,
noise), so the json is identical on every machine and independent of pixel arithmetic.

Scenes are made for a small model trained from scratch on a CPU: few, well-contrasted objects,
a few distractors, moderate occlusion. Annotations describe what is visible:
- bbox/segm: 1–`max_objects` shapes of 5 classes; later shapes are drawn over earlier ones and
  every annotation is the visible mask (possibly several parts, non-convex); a placement that
  would leave an earlier object < 50 % visible is redrawn elsewhere.
- pose: frontal stick figures with the 17 COCO keypoints; keypoints outside the image are
  (0, 0, 0) as in COCO, v = 1 where a later figure or occluder covers the joint, else v = 2.
A few images hold a crowd: a cluster of small objects annotated once, iscrowd = 1, as RLE.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from lsnet.data import render
from lsnet.data.targets import mask_to_polygons
from lsnet.errors import LSNetError
from lsnet.files import atomic_write, make_folder
from lsnet.landmarks import COCO_KEYPOINT_NAMES, COCO_SKELETON, TASKS

SPLIT_IDS = {"train": 0, "val": 1}
CROWD_PROBABILITY = 0.06
MIN_VISIBLE_PIXELS = 24
MIN_VISIBLE_FRACTION = {"shape": 0.5, "person": 0.3}  # of the drawn object not hidden by later ones
OBJECT_SIZE = (20.0, 160.0)  # px across (log-uniform), capped by the image
PERSON_HEIGHT = (60.0, 220.0)
DEFAULT_SIZE_RANGE = (160, 224)  # image sides: small enough to train the committed models on a CPU
DEFAULT_MAX_OBJECTS = {"bbox": 6, "segm": 6, "pose": 4}
NOISE_SIGMA = (2.0, 6.0)


@dataclass
class Layer:
    """One drawn thing, in drawing order."""

    coverage: render.Coverage
    category_id: int  # 0: an unannotated occluder
    crowd: bool = False
    figures: tuple[render.Figure, ...] = ()  # the stick figures it is made of (pose)
    track_id: int | None = None  # the same object across video frames (`lsnet data video`)


def categories(task: str) -> list[dict]:
    if task == "pose":
        return [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINT_NAMES),
                 "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON]}]
    return [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(render.SHAPE_NAMES)]


# --- scenes ------------------------------------------------------------------------------------

def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(max(hi, lo)))))


def union(parts: list[render.Coverage]) -> render.Coverage:
    x0, y0 = min(p.x0 for p in parts), min(p.y0 for p in parts)
    x1 = max(p.x0 + p.alpha.shape[1] for p in parts)
    y1 = max(p.y0 + p.alpha.shape[0] for p in parts)
    alpha = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for p in parts:
        sub = alpha[p.y0 - y0: p.y0 - y0 + p.alpha.shape[0], p.x0 - x0: p.x0 - x0 + p.alpha.shape[1]]
        np.maximum(sub, p.alpha, out=sub)
    return render.Coverage(alpha, x0, y0)


def _cluster_centres(geo: np.random.Generator, image_hw: tuple[int, int]) -> np.ndarray:
    """3–6 positions close together: a crowd, annotated once with iscrowd = 1."""
    h, w = image_hw
    centre = geo.uniform(0.2, 0.8, 2) * (w, h)
    return centre + geo.normal(0, 0.06 * min(h, w), (int(geo.integers(3, 7)), 2))


def _fits(coverage: render.Coverage, image_hw, layers: list[Layer], visible: list[np.ndarray]) -> bool:
    """Mostly inside the image, and every earlier object stays ≥ 50 % visible."""
    mask = coverage.mask(image_hw)
    if np.count_nonzero(mask) < MIN_VISIBLE_FRACTION["shape"] * coverage.area():
        return False
    return all(np.count_nonzero(v & ~mask) >= MIN_VISIBLE_FRACTION["shape"] * layer.coverage.area()
               for layer, v in zip(layers, visible) if not layer.crowd)


def shapes_scene(geo: np.random.Generator, image_hw: tuple[int, int], max_objects: int) -> list[Layer]:
    """Shapes in drawing order (bbox and segm tasks)."""
    h, w = image_hw

    def shape(cls: int, size: float, centre) -> render.Coverage:
        polygon = render.shape_polygon(geo, render.SHAPE_NAMES[cls])
        return render.polygon_coverage(render.place(polygon, size, geo.uniform(0, 2 * np.pi), centre))

    layers: list[Layer] = []
    visible: list[np.ndarray] = []  # of the layers so far, updated as later ones cover them
    if geo.random() < CROWD_PROBABILITY:
        cls = int(geo.integers(len(render.SHAPE_NAMES)))
        parts = [shape(cls, geo.uniform(7, 14), c) for c in _cluster_centres(geo, image_hw)]
        layers.append(Layer(union(parts), cls + 1, crowd=True))
        visible.append(layers[-1].coverage.mask(image_hw))
    for _ in range(int(geo.integers(1, max_objects + 1))):
        for _attempt in range(8):
            cls = int(geo.integers(len(render.SHAPE_NAMES)))
            size = log_uniform(geo, OBJECT_SIZE[0], min(OBJECT_SIZE[1], 0.6 * min(h, w)))
            coverage = shape(cls, size, geo.uniform(0, 1, 2) * (w, h))
            if _fits(coverage, image_hw, layers, visible):
                mask = coverage.mask(image_hw)
                for v in visible:
                    v &= ~mask
                layers.append(Layer(coverage, cls + 1))
                visible.append(mask)
                break
    return layers


def pose_scene(geo: np.random.Generator, image_hw: tuple[int, int], max_persons: int) -> list[Layer]:
    """Stick figures and unannotated occluder rectangles, in drawing order (pose task)."""
    h, w = image_hw

    def person(centre, height: float) -> tuple[render.Coverage, render.Figure]:
        fig = render.figure(render.random_limb_angles(geo), height, centre, geo.normal(0, 0.2),
                            geo.uniform(-0.6, 0.6))
        return union(list(render.figure_coverages(fig))), fig

    layers: list[Layer] = []
    if geo.random() < CROWD_PROBABILITY:
        crowd = [person(c, geo.uniform(22, 40)) for c in _cluster_centres(geo, image_hw)]
        layers.append(Layer(union([c for c, _ in crowd]), 1, crowd=True, figures=tuple(f for _, f in crowd)))
    for _ in range(int(geo.integers(1, max_persons + 1))):
        height = log_uniform(geo, PERSON_HEIGHT[0], min(PERSON_HEIGHT[1], 1.1 * h))
        coverage, fig = person(geo.uniform((0.05, 0.1), (0.95, 0.9)) * (w, h), height)
        layers.append(Layer(coverage, 1, figures=(fig,)))
    for _ in range(int(geo.integers(0, 3))):  # occluders, drawn over a random number of figures
        side = geo.uniform(0.1, 0.35) * min(h, w)
        box = render.place(np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [1, geo.uniform(0.3, 1)], side,
                           geo.normal(0, 0.3), geo.uniform(0, 1, 2) * (w, h))
        layers.insert(int(geo.integers(0, len(layers) + 1)), Layer(render.polygon_coverage(box), 0))
    return layers


def paint(app: np.random.Generator, image_hw: tuple[int, int], layers: list[Layer]) -> np.ndarray:
    """The image of a scene (uint8 BGR): background, the layers in order, sensor noise."""
    image = render.random_background(app, image_hw)
    for layer in layers:
        c = layer.coverage
        colour = render.contrasting_colour(app, image, (c.x0 + c.alpha.shape[1] / 2, c.y0 + c.alpha.shape[0] / 2))
        if layer.figures:
            head_colour = app.uniform(60, 240, 3)
            for fig in layer.figures:
                render.paint_figure(image, fig, colour, head_colour)
        else:
            c.paint(image, colour)
    return render.add_noise(app, image, app.uniform(*NOISE_SIGMA))


# --- annotations -------------------------------------------------------------------------------

def _instance(layer: Layer, mask: np.ndarray, covered_later: np.ndarray) -> dict | None:
    visible = mask & ~covered_later
    pixels = int(np.count_nonzero(visible))
    # Shapes were placed mostly inside the image, persons may walk out of it: a person is judged
    # by how much of its in-image part is hidden, a shape by how much of all of it.
    drawn = np.count_nonzero(mask) if layer.figures else layer.coverage.area()
    if pixels < max(MIN_VISIBLE_PIXELS, MIN_VISIBLE_FRACTION["person" if layer.figures else "shape"] * drawn):
        return None
    polygons = mask_to_polygons(visible)
    if not polygons:
        return None
    xy = np.concatenate([np.reshape(p, (-1, 2)) for p in polygons])
    lo, hi = xy.min(0), xy.max(0)
    ann = {"category_id": layer.category_id, "bbox": [*lo.tolist(), *(hi - lo).tolist()], "area": pixels,
           "iscrowd": 0, "segmentation": polygons}
    if layer.figures:
        ann["keypoints"] = _keypoints(layer.figures[0].keypoints, covered_later)
        ann["num_keypoints"] = sum(v > 0 for v in ann["keypoints"][2::3])
    return ann


def _keypoints(points: np.ndarray, covered_later: np.ndarray) -> list[float]:
    """COCO (x, y, v) ×17: outside the image (0, 0, 0); covered by a later layer v = 1; else 2."""
    h, w = covered_later.shape
    out: list[float] = []
    for x, y in points:
        px, py = int(round(x)), int(round(y))
        if 0 <= px < w and 0 <= py < h:
            out += [round(x + 0.5, 2), round(y + 0.5, 2), 1 if covered_later[py, px] else 2]  # pixel centre → COCO
        else:
            out += [0, 0, 0]
    return out


def _crowd(layer: Layer, visible: np.ndarray) -> dict | None:
    pixels = int(np.count_nonzero(visible))
    if pixels < MIN_VISIBLE_PIXELS:
        return None
    rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
    ann = {"category_id": layer.category_id, "bbox": mask_utils.toBbox(rle).tolist(), "area": pixels,
           "iscrowd": 1, "segmentation": {"size": rle["size"], "counts": rle["counts"].decode("ascii")}}
    if layer.figures:
        ann["keypoints"], ann["num_keypoints"] = [0] * 51, 0
    return ann


def annotate(layers: list[Layer], image_hw: tuple[int, int]) -> list[dict]:
    """COCO annotations (without ids) of the visible part of every annotated layer."""
    covered_later = np.zeros(image_hw, bool)
    annotations = []
    for layer in reversed(layers):
        mask = layer.coverage.mask(image_hw)
        if layer.category_id:
            ann = _crowd(layer, mask & ~covered_later) if layer.crowd else _instance(layer, mask, covered_later)
            if ann:
                annotations.append(ann if layer.track_id is None else {**ann, "track_id": layer.track_id})
        covered_later |= mask
    return annotations[::-1]


# --- writing -----------------------------------------------------------------------------------

def scene(task: str, seed: int, split: str, index: int, size_range: tuple[int, int], max_objects: int
          ) -> tuple[np.ndarray, list[dict]]:
    """Image (uint8 BGR) and annotations of one synthetic image, a pure function of its arguments."""
    geo = np.random.default_rng([seed, SPLIT_IDS[split], index, 0])
    app = np.random.default_rng([seed, SPLIT_IDS[split], index, 1])
    image_hw = tuple(int(v) for v in geo.integers(size_range[0], size_range[1] + 1, 2))
    layers = pose_scene(geo, image_hw, max_objects) if task == "pose" else shapes_scene(geo, image_hw, max_objects)
    return paint(app, image_hw, layers), annotate(layers, image_hw)


def write_dataset(out_dir: str | os.PathLike, task: str, seed: int = 0, counts: dict[str, int] | None = None,
                  size_range: tuple[int, int] = DEFAULT_SIZE_RANGE, max_objects: int | None = None,
                  progress: bool = False) -> dict[str, tuple[int, int]]:
    """Write `out_dir/annotations/{split}.json` and `out_dir/{split}/*.jpg` (JPEG quality 95).

    Returns (images, annotations) per split.
    """
    from lsnet.progress import progress as progress_bar

    if task not in TASKS:
        raise LSNetError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
    counts = {"train": 1500, "val": 200} if counts is None else counts
    if any(n < 0 for n in counts.values()) or set(counts) - set(SPLIT_IDS):
        raise LSNetError(f"image counts must be ≥ 0 for splits {', '.join(SPLIT_IDS)}, got {counts}")
    if not 32 <= size_range[0] <= size_range[1]:
        raise LSNetError(f"image sizes must satisfy 32 ≤ min ≤ max, got {size_range[0]}–{size_range[1]}")
    max_objects = max_objects or DEFAULT_MAX_OBJECTS[task]
    if max_objects < 1:
        raise LSNetError(f"max_objects must be ≥ 1, got {max_objects}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise LSNetError(f"cannot write the dataset to {out}: it is a file, not a folder")
    for split in (*counts, "annotations"):
        make_folder(out / split)

    written = {}
    for split, n in counts.items():
        images, annotations = [], []
        for index in progress_bar(range(n), desc=f"{task} {split}", disable=not progress, unit="img"):
            image, anns = scene(task, seed, split, index, size_range, max_objects)
            image_id = index + 1
            file_name = f"{index:06d}.jpg"
            encoded, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not encoded:
                raise LSNetError(f"cannot encode image {out / split / file_name}")
            atomic_write(out / split / file_name, data.tobytes(), durable=False)
            images.append({"id": image_id, "file_name": file_name, "height": image.shape[0],
                           "width": image.shape[1]})
            for ann in anns:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
        dataset = {"info": {"description": f"lsnet synthetic {task} dataset", "seed": seed, "split": split},
                   "images": images, "annotations": annotations, "categories": categories(task)}
        atomic_write(out / "annotations" / f"{split}.json", json.dumps(dataset))
        written[split] = (len(images), len(annotations))
    return written
