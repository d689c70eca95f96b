"""Run any detector (PyTorch, ONNX Runtime, TensorRT) over a COCO-format image set."""
from __future__ import annotations

from pathlib import Path

import cv2

from lsnet.data.annotations import load_coco
from lsnet.errors import LSNetError
from lsnet.progress import progress as progress_bar

PRIMARY_IOU_TYPE = {"bbox": "bbox", "segm": "segm", "pose": "keypoints"}


def predict_coco(detector, coco, image_dir: str | Path, max_images: int = 0, progress: bool = True) -> dict:
    """image id → Detections (original pixels) for the images of `coco`, sorted by id."""
    ids = sorted(coco.getImgIds())
    ids = ids[:max_images] if max_images else ids
    results = {}
    for image_id in progress_bar(ids, desc="predict", unit="img", disable=not progress, leave=False):
        path = Path(image_dir) / coco.loadImgs(image_id)[0]["file_name"]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise LSNetError(f"cannot read image {path}")
        results[image_id] = detector.predict(image)
    return results


def evaluate_detector(detector, ann_file: str | Path, image_dir: str | Path, max_images: int = 0,
                      progress: bool = True) -> dict:
    """COCO metrics of a detector (`{"bbox": {"AP": …}, …}`) through pycocotools."""
    from lsnet.evaluation.coco_eval import evaluate

    coco = load_coco(ann_file)
    results = predict_coco(detector, coco, image_dir, max_images, progress)
    return evaluate(coco, results, detector.description.task)


def primary_metric(task: str, metrics: dict) -> float:
    return float(metrics[PRIMARY_IOU_TYPE[task]]["AP"])
