"""Run any detector (PyTorch, ONNX Runtime, TensorRT) over a COCO-format image set."""
from __future__ import annotations

from pathlib import Path

import cv2

from lsnet.data.annotations import check_images_exist, load_coco
from lsnet.errors import LSNetError, warn
from lsnet.progress import progress as progress_bar

PRIMARY_IOU_TYPE = {"bbox": "bbox", "segm": "segm", "pose": "keypoints"}


def predict_coco(detector, coco, image_dir: str | Path, max_images: int = 0, progress: bool = True) -> dict:
    """image id → Detections (original pixels) for the images of `coco`, sorted by id."""
    ids = evaluated_ids(coco, max_images)
    results = {}
    for image_id in progress_bar(ids, desc="predict", unit="img", disable=not progress, leave=False):
        path = Path(image_dir) / coco.loadImgs(image_id)[0]["file_name"]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise LSNetError(f"cannot read image {path}")
        results[image_id] = detector.predict(image)
    return results


def check_evaluation_set(ann_file: str | Path, image_dir: str | Path, description, max_images: int = 0):
    """The COCO set, checked for evaluation before any prediction: the file (`load_coco`), the
    image files, and the model's classes against its categories. Returns (coco, label → category
    id, a note on the mapping or None)."""
    from lsnet.evaluation.coco_eval import category_mapping

    coco = load_coco(ann_file, description.task, evaluation=True)
    check_images_exist(coco, image_dir, evaluated_ids(coco, max_images))
    return (coco, *category_mapping(coco, description.class_names))


def evaluated_ids(coco, max_images: int = 0) -> list[int]:
    ids = sorted(coco.getImgIds())
    return ids[:max_images] if max_images else ids


def evaluate_detector(detector, ann_file: str | Path, image_dir: str | Path, max_images: int = 0,
                      progress: bool = True) -> dict:
    """COCO metrics of a detector (`{"bbox": {"AP": …}, …}`) through pycocotools."""
    from lsnet.evaluation.coco_eval import evaluate

    coco, categories, note = check_evaluation_set(ann_file, image_dir, detector.description, max_images)
    if note and progress:
        warn(note)
    results = predict_coco(detector, coco, image_dir, max_images, progress)
    return evaluate(coco, results, detector.description.task, categories=categories)


def primary_metric(task: str, metrics: dict) -> float:
    return float(metrics[PRIMARY_IOU_TYPE[task]]["AP"])
