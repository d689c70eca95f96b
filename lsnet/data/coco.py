"""COCO-format datasets for the three tasks: `CocoDetectionDataset`, `dataset_from_dir`.

Targets are computed once per annotation at construction, in original-image pixels (docs/lsnet-official.md §5);
each item then resizes (and in training maybe flips) the image and its targets.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from lsnet.data import transforms
from lsnet.data.annotations import check_images_exist, load_coco
from lsnet.data.targets import (Targets, contour_target, extreme_points, keypoint_target, mask_to_polygons,
                                polygon_parts, rle_mask, segmentation_points, side_midpoints)
from lsnet.errors import LSNetError
from lsnet.landmarks import NUM_LANDMARKS, TASKS


class CocoDetectionDataset(Dataset):
    """`ds[i] -> (image [3, h, w] float32, target dict)` for task bbox | segm | pose.

    The image is resized keeping its aspect ratio to fit `input_size` (H, W), RGB, normalised,
    not padded (see `lsnet.data.collate`). Target coordinates are in resized-image pixels.
    In training each item is flipped with probability `flip_prob`, decided by
    (seed, epoch, index) only: call `set_epoch` before each epoch.

    `skipped` counts, by reason, what was left out (crowds, degenerate annotations, polygon
    parts, empty training images); `adjusted` counts what was kept with a documented fix.
    """

    def __init__(self, ann_file: str | os.PathLike, image_dir: str | os.PathLike, task: str,
                 input_size: tuple[int, int], train: bool, flip_prob: float = 0.5, seed: int = 0,
                 skip_empty: bool = True, scale_range: tuple[float, float] = (1.0, 1.0)):
        if task not in TASKS:
            raise LSNetError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise LSNetError(f"scale_range must be [low, high] with 0 < low ≤ high, got {list(scale_range)}")
        if seed < 0:
            raise LSNetError(f"the data seed must be ≥ 0, got {seed}")
        self.image_dir = Path(image_dir)
        if not self.image_dir.is_dir():
            raise LSNetError(f"image folder {self.image_dir} does not exist")
        self.ann_file = Path(ann_file)
        self.coco = load_coco(ann_file)
        self.task = task
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.train, self.flip_prob, self.seed = train, flip_prob, seed
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.epoch = 0
        self.cat_ids = sorted(self.coco.getCatIds())
        if not self.cat_ids:
            raise LSNetError(f"annotation file {self.ann_file} has no categories")
        self.class_names = [str(self.coco.cats[c].get("name", c)) for c in self.cat_ids]
        self._label = {c: i for i, c in enumerate(self.cat_ids)}
        self.skipped: Counter[str] = Counter()
        self.adjusted: Counter[str] = Counter()
        self.records: list[tuple[int, Targets]] = []
        for image_id in sorted(self.coco.getImgIds()):
            targets = self._image_targets(image_id)
            if train and skip_empty and len(targets.labels) == 0:
                self.skipped["image without usable objects (train)"] += 1
                continue
            self.records.append((image_id, targets))
        # Every image file the records need is there: checked now, not when a worker reaches it.
        check_images_exist(self.coco, self.image_dir, [image_id for image_id, _ in self.records])

    # --- targets in original pixels ------------------------------------------------------------

    def _image_size(self, image_id: int) -> tuple[int, int]:
        info = self.coco.imgs[image_id]
        try:
            return int(info["height"]), int(info["width"])
        except (KeyError, TypeError, ValueError) as e:
            raise LSNetError(f"annotation file {self.ann_file}: image {image_id} has no valid height/width") from e

    def _problem(self, ann: dict, image_hw: tuple[int, int]) -> str | None:
        """Why an annotation gives no target (mmdet `CocoDataset._parse_ann_info`, docs/lsnet-official.md §5.3, §12.17)."""
        if ann.get("iscrowd", 0):
            return "crowd (iscrowd=1)"
        if ann.get("ignore", False):
            return "ignore flag set"
        if ann.get("category_id") not in self._label:
            return "unknown category"
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            return "malformed bbox"
        if w < 1 or h < 1:
            return "bbox w or h < 1"
        if float(ann.get("area", w * h)) <= 0:
            return "zero area"
        if min(x + w, image_hw[1]) - max(x, 0) <= 0 or min(y + h, image_hw[0]) - max(y, 0) <= 0:
            return "bbox outside the image"
        if self.task == "pose" and len(ann.get("keypoints") or ()) != 51:
            return "no 17 keypoints"
        return None

    def _landmarks(self, ann: dict, box: np.ndarray, image_hw: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gt box, landmarks [N, 2], visible [N]) of one usable annotation."""
        segmentation = ann.get("segmentation")
        if self.task == "bbox":
            points = segmentation_points(segmentation, image_hw)
            if len(points) == 0:
                self.adjusted["no segmentation: extreme points at the box side midpoints"] += 1
                return box, side_midpoints(box), np.ones(4, np.float32)
            return box, extreme_points(points), np.ones(4, np.float32)
        if self.task == "segm":
            if isinstance(segmentation, dict):
                self.adjusted["RLE segmentation traced to polygons"] += 1
                segmentation = mask_to_polygons(rle_mask(segmentation, image_hw))
            contour, notes = contour_target(polygon_parts(segmentation or []), box)
            for note in notes:
                (self.adjusted if note.startswith("no polygon") else self.skipped)[note] += 1
            return np.concatenate([contour.min(0), contour.max(0)]), contour, np.ones(36, np.float32)
        points, visible = keypoint_target(ann["keypoints"])
        if not visible.any():
            self.adjusted["person without labelled keypoints (kept, docs/lsnet-official.md §5.3)"] += 1
        h, w = image_hw
        outside = (visible > 0) & ((points < 0).any(1) | (points[:, 0] > w) | (points[:, 1] > h))
        if outside.any():
            self.adjusted["labelled keypoint outside the image (clipped, docs/lsnet-official.md §5.3)"] += int(outside.sum())
        return box, points, visible

    def _image_targets(self, image_id: int) -> Targets:
        image_hw = self._image_size(image_id)
        boxes, labels, landmarks, visible, centres = [], [], [], [], []
        for ann in self.coco.imgToAnns.get(image_id, []):
            problem = self._problem(ann, image_hw)
            if problem:
                self.skipped[problem] += 1
                continue
            x, y, w, h = (float(v) for v in ann["bbox"])
            box, points, vis = self._landmarks(ann, np.array([x, y, x + w, y + h]), image_hw)
            boxes.append(box)
            labels.append(self._label[ann["category_id"]])
            landmarks.append(points)
            visible.append(vis)
            centres.append((x + w / 2, y + h / 2))  # of the annotation box as given, even if it crosses the border
        n = NUM_LANDMARKS[self.task]
        return Targets(
            boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
            labels=np.asarray(labels, np.int64),
            landmarks=np.asarray(landmarks, np.float32).reshape(-1, n, 2),
            visible=np.asarray(visible, np.float32).reshape(-1, n),
            centres=np.asarray(centres, np.float32).reshape(-1, 2),
        )

    # --- items ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def flips(self, index: int) -> bool:
        """The flip decision of item `index` this epoch: a function of (seed, epoch, index) only."""
        if not self.train or self.flip_prob <= 0:
            return False
        return bool(np.random.default_rng([self.seed, self.epoch, index]).random() < self.flip_prob)

    def target_size(self, index: int) -> tuple[int, int]:
        """The canvas item `index` is resized into this epoch: `input_size`, or in training `input_size`
        × s with s uniform in `scale_range` (mmdet's multi-scale "range" mode, docs/lsnet-official.md §7
        mstrain), a function of (seed, epoch, index) only."""
        low, high = self.scale_range
        if not self.train or low == high == 1.0:
            return self.input_size
        s = np.random.default_rng([self.seed, self.epoch, index, 1]).uniform(low, high)
        return (max(1, round(self.input_size[0] * s)), max(1, round(self.input_size[1] * s)))

    def read_image(self, index: int) -> np.ndarray:
        """The original image of item `index` (uint8 BGR)."""
        image_id = self.records[index][0]
        path = self.image_dir / str(self.coco.imgs[image_id].get("file_name", ""))
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise LSNetError(f"cannot read image {path}")
        h0, w0 = self._image_size(image_id)
        if image.shape[:2] != (h0, w0):
            raise LSNetError(f"image {path} is {image.shape[1]}×{image.shape[0]} but {self.ann_file} "
                             f"says {w0}×{h0}")
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict]:
        image_id, targets = self.records[index]
        image = self.read_image(index)
        orig_size = image.shape[:2]
        image, targets, scale = transforms.resize(image, targets, self.target_size(index), self.task)
        flipped = self.flips(index)
        if flipped:
            image, targets = transforms.hflip(image, targets, self.task)
        return torch.from_numpy(transforms.to_network_input(image)), {
            "boxes": torch.from_numpy(targets.boxes),
            "labels": torch.from_numpy(targets.labels),
            "landmarks": torch.from_numpy(targets.landmarks),
            "visible": torch.from_numpy(targets.visible),
            "centres": torch.from_numpy(targets.centres),
            "image_id": int(image_id),
            "orig_size": (int(orig_size[0]), int(orig_size[1])),
            "scale": float(scale),
            "flipped": flipped,
        }


def dataset_from_dir(data_dir: str | os.PathLike, split: str, task: str, input_size: tuple[int, int],
                     train: bool, **kwargs) -> CocoDetectionDataset:
    """The `split` of a dataset in the COCO layout `DIR/annotations/{split}.json` + `DIR/{split}/`."""
    root = Path(data_dir)
    if not root.is_dir():
        raise LSNetError(f"dataset folder {root} does not exist")
    ann_file = root / "annotations" / f"{split}.json"
    if not ann_file.is_file():
        raise LSNetError(f"dataset folder {root} has no annotations/{split}.json")
    if not (root / split).is_dir():
        raise LSNetError(f"dataset folder {root} has no {split}/ image folder")
    return CocoDetectionDataset(ann_file, root / split, task, input_size, train, **kwargs)
