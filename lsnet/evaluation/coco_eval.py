"""COCO evaluation of `Detections` with pycocotools (docs/lsnet-official.md §8.3 formatting, docs/architecture.md §2 metrics)."""
from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from lsnet.errors import LSNetError
from lsnet.landmarks import TASKS
from lsnet.runtime.detections import Detections

# What each task is evaluated on (docs/lsnet-official.md §7 "evaluation"; pose as pose_kbox).
IOU_TYPES = {"bbox": ("bbox",), "segm": ("segm", "bbox"), "pose": ("keypoints",)}
STAT_NAMES = {
    "bbox": ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"),
    "keypoints": ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"),
}
STAT_NAMES["segm"] = STAT_NAMES["bbox"]
MIN_POSE_BOX_AREA = 1024.0  # px², original image (docs/lsnet-official.md §8.3, §12.13)


def _polygon_rle(polygon: np.ndarray, image_hw: tuple[int, int]) -> dict:
    """One closed polygon rasterised at the original size, as LSNet's `encode_poly_results`."""
    rle = mask_utils.merge(mask_utils.frPyObjects([polygon.astype(np.float64).ravel().tolist()], *image_hw))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def category_mapping(coco_gt: COCO, class_names: list[str] | None) -> tuple[list[int | None], str | None]:
    """The annotation category of each model class (None: a class the dataset does not have),
    and a note when the mapping is not the plain one, or LSNetError when none makes sense.

    The plain mapping — model class i is the i-th category by id — holds when the names agree in
    that order (or the model names no classes). Otherwise the classes are matched by name, if every
    category of the dataset is one of the model's classes: a dataset numbered in another order, or
    a subset of the model's classes. Anything else would score detections against the wrong
    categories, so it is refused.
    """
    cat_ids = sorted(coco_gt.getCatIds())
    names = [str(coco_gt.cats[c].get("name")) for c in cat_ids]
    if class_names is None or list(class_names) == names:
        return list(cat_ids), None
    by_name = {name: c for c, name in zip(cat_ids, names)}
    unknown = [name for name in names if name not in class_names]
    if unknown or len(by_name) < len(names) or len(set(class_names)) < len(class_names):
        raise LSNetError(f"the model's classes ({', '.join(class_names)}) are not the dataset's categories "
                         f"({', '.join(names)}); its detections cannot be scored against these annotations")
    mapping = [by_name.get(name) for name in class_names]
    if None in mapping:
        note = (f"the dataset has {len(names)} of the model's {len(class_names)} classes: evaluating those "
                f"({', '.join(names)}); detections of the others are left out")
    else:
        note = "the dataset numbers its categories in another order than the model's classes: matched by name"
    return mapping, note


def format_results(coco_gt: COCO, results: dict[int, Detections], task: str,
                   categories: list[int | None] | None = None) -> dict[str, list[dict]]:
    """COCO result entries per iou type for detections in original-image pixels (docs/lsnet-official.md §8.3).

    bbox: x, y, w, h. segm: the N-point polygon rasterised to RLE, mask score = box score.
    keypoints: only boxes with area > 1024 px², every keypoint written as (x, y, 1).
    `categories`: the category id of each label (`category_mapping`; default: categories by id).
    """
    cat_ids = categories if categories is not None else sorted(coco_gt.getCatIds())
    out: dict[str, list[dict]] = {t: [] for t in IOU_TYPES[task]}
    for image_id, det in results.items():
        if image_id not in coco_gt.imgs:
            raise LSNetError(f"results name image id {image_id}, which the annotations do not have")
        if len(det) and (det.labels.min() < 0 or det.labels.max() >= len(cat_ids)):
            raise LSNetError(f"a detection label is outside the {len(cat_ids)} categories of the annotations")
        info = coco_gt.imgs[image_id]
        image_hw = (int(info["height"]), int(info["width"]))
        for box, score, label, marks in zip(det.boxes.astype(np.float64), det.scores.astype(np.float64),
                                            det.labels, det.landmarks):
            if cat_ids[int(label)] is None:  # a class the dataset does not have
                continue
            entry = {"image_id": int(image_id), "category_id": int(cat_ids[int(label)]), "score": float(score)}
            x1, y1, x2, y2 = box.tolist()
            if "bbox" in out:
                out["bbox"].append({**entry, "bbox": [x1, y1, x2 - x1, y2 - y1]})
            if "segm" in out:
                out["segm"].append({**entry, "segmentation": _polygon_rle(marks, image_hw)})
            if "keypoints" in out and (x2 - x1) * (y2 - y1) > MIN_POSE_BOX_AREA:
                keypoints = np.concatenate([marks.astype(np.float64), np.ones((len(marks), 1))], 1)
                out["keypoints"].append({**entry, "keypoints": keypoints.ravel().tolist()})
    return out


def _coco_results(coco_gt: COCO, entries: list[dict]) -> COCO:
    if entries:
        return coco_gt.loadRes(entries)
    empty = COCO()  # `loadRes` cannot take an empty list
    empty.dataset = {"images": list(coco_gt.dataset["images"]), "categories": list(coco_gt.dataset["categories"]),
                     "annotations": []}
    empty.createIndex()
    return empty


@dataclass
class CocoEvaluation:
    """One iou type's pycocotools result: the summary statistics, and per class what detectron2
    reports (the precision array sliced per category) with the precision–recall curves behind it."""

    stats: dict[str, float]  # pycocotools' summary, by STAT_NAMES
    class_names: list[str]
    precision: np.ndarray  # [IoU thresholds, recall thresholds, classes] at area "all", the most detections; −1: no ground truth
    scores: np.ndarray  # the same shape: the score at which each recall threshold is reached (0: never)
    recall: np.ndarray  # [IoU thresholds, classes], all scores
    instances: np.ndarray  # [classes] ground-truth objects (not crowds) in the evaluated images
    iou_thresholds: np.ndarray
    recall_thresholds: np.ndarray

    def per_class(self, score: float = 0.3) -> dict[str, dict[str, float]]:
        """name → AP, AP50, AP75 (−1 without ground truth), R50 (recall at IoU 0.5, every score),
        R50@score (recall at IoU 0.5 of the detections scored ≥ `score`, to 0.01) and instances."""
        t50 = int(np.argmin(np.abs(self.iou_thresholds - 0.5)))
        t75 = int(np.argmin(np.abs(self.iou_thresholds - 0.75)))

        def mean_precision(values: np.ndarray) -> float:
            values = values[values > -1]
            return float(values.mean()) if values.size else -1.0

        out = {}
        for k, name in enumerate(self.class_names):
            found = self.instances[k] > 0
            if score > 0:  # the highest recall threshold reached by a detection scored ≥ `score`
                reached = self.recall_thresholds[self.scores[t50, :, k] >= score]
                recall_at_score = float(reached.max()) if reached.size else 0.0
            else:
                recall_at_score = float(self.recall[t50, k])
            out[name] = {"AP": mean_precision(self.precision[:, :, k]),
                         "AP50": mean_precision(self.precision[t50, :, k]),
                         "AP75": mean_precision(self.precision[t75, :, k]),
                         "R50": float(self.recall[t50, k]) if found else -1.0,
                         f"R50@{score:g}": recall_at_score if found else -1.0,
                         "instances": int(self.instances[k])}
        return out


def evaluate_coco(coco_gt: COCO, results: dict[int, Detections], task: str, verbose: bool = False,
                  categories: list[int | None] | None = None) -> dict[str, CocoEvaluation]:
    """COCO evaluation per iou type over the images in `results` (see `evaluate`); the per-class
    figures are the dataset's categories', by id."""
    if task not in TASKS:
        raise LSNetError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
    entries = format_results(coco_gt, results, task, categories)
    cat_ids = sorted(coco_gt.getCatIds())
    names = [coco_gt.cats[c]["name"] for c in cat_ids]
    image_ids = set(results)
    instances = np.array([sum(1 for a in coco_gt.loadAnns(coco_gt.getAnnIds(catIds=[c], iscrowd=False))
                              if a["image_id"] in image_ids and (task != "pose" or a.get("num_keypoints", 0) > 0))
                          for c in cat_ids])
    out: dict[str, CocoEvaluation] = {}
    for iou_type, iou_entries in entries.items():
        log = io.StringIO()
        with redirect_stdout(log):
            coco_eval = COCOeval(coco_gt, _coco_results(coco_gt, iou_entries), iou_type)
            params = coco_eval.params
            t, r, k = len(params.iouThrs), len(params.recThrs), len(cat_ids)
            if not results:
                out[iou_type] = CocoEvaluation({name: 0.0 for name in STAT_NAMES[iou_type]}, names,
                                               np.full((t, r, k), -1.0), np.zeros((t, r, k)), np.zeros((t, k)),
                                               instances, params.iouThrs, params.recThrs)
                continue
            params.imgIds = sorted(results)
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        if verbose:  # the summary lines only, not pycocotools' progress chatter
            print("\n".join([f"{iou_type}:", *(line for line in log.getvalue().splitlines()
                                                 if line.lstrip().startswith("Average"))]))
        e = coco_eval.eval  # area "all" is index 0, the most detections the last index (detectron2 does the same)
        out[iou_type] = CocoEvaluation({name: float(v) for name, v in zip(STAT_NAMES[iou_type], coco_eval.stats)},
                                       names, e["precision"][:, :, :, 0, -1], e["scores"][:, :, :, 0, -1],
                                       e["recall"][:, :, 0, -1], instances, params.iouThrs, params.recThrs)
    return out


def evaluate(coco_gt: COCO, results: dict[int, Detections], task: str, verbose: bool = False,
             categories: list[int | None] | None = None) -> dict[str, dict[str, float]]:
    """COCO AP/AR per iou type, as fractions, over the images in `results`.

    `results` maps image id → detections in original-image pixels; include images without
    detections as empty `Detections`, since only the images named here are evaluated.
    `categories` maps labels to category ids (`category_mapping`). Stats
    are pycocotools' (−1 where no ground truth falls in that area range). `verbose` prints
    pycocotools' summary.
    """
    return {iou_type: e.stats for iou_type, e in evaluate_coco(coco_gt, results, task, verbose, categories).items()}
