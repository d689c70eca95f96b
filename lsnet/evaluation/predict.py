"""Run any detector (PyTorch, ONNX Runtime, TensorRT) over a COCO-format image set."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from lsnet.data.annotations import check_images_exist, load_coco
from lsnet.errors import LSNetError, warn
from lsnet.progress import progress as progress_bar
from lsnet.runtime.sources import open_source

PRIMARY_IOU_TYPE = {"bbox": "bbox", "segm": "segm", "pose": "keypoints"}


def _as_annotated(coco, image_id: int, image: np.ndarray, where: str) -> np.ndarray:
    """`image`, if it has the size its annotations were made on: of another size (another video, a
    resized copy) it would be scored against boxes in other pixels, a plausible but wrong AP."""
    record = coco.loadImgs(image_id)[0]
    h, w = image.shape[:2]
    if (w, h) != (record["width"], record["height"]):
        raise LSNetError(f"{where} is {w}×{h} but its annotations are of a {record['width']}×{record['height']} image "
                         f"(image id {image_id}): the images are not the ones annotated")
    return image


def _images(coco, ids: list[int], images: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(image id, BGR image) for `ids`: files of a folder, or frames of a video, which `file_name`
    names as `lsnet infer` and `lsnet data video --annotations` do (frame_000000.jpg, …)."""
    if images.is_dir():
        for image_id in ids:
            path = images / coco.loadImgs(image_id)[0]["file_name"]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise LSNetError(f"cannot read image {path}")
            yield image_id, _as_annotated(coco, image_id, image, str(path))
        return
    wanted = {coco.loadImgs(image_id)[0]["file_name"]: image_id for image_id in ids}
    source = open_source(str(images))
    try:
        for frame in source:
            if frame.name in wanted:
                image_id = wanted.pop(frame.name)
                yield image_id, _as_annotated(coco, image_id, frame.image, f"frame {frame.name} of {images}")
            if not wanted:
                break
    finally:
        source.close()
    if wanted:
        raise LSNetError(f"video {images} has no frame {next(iter(wanted))} (the annotations name "
                         f"{len(ids)} frames as frame_000000.jpg, …)")


def predict_coco(detector, coco, images: str | Path, max_images: int = 0, progress: bool = True) -> dict:
    """image id → Detections (original pixels) for the images of `coco`, sorted by id; `images` is
    their folder or, for the annotations of a video, the video file."""
    ids = evaluated_ids(coco, max_images)
    results = {}
    for image_id, image in progress_bar(_images(coco, ids, Path(images)), desc="predict", unit="img",
                                        total=len(ids), disable=not progress, leave=False):
        results[image_id] = detector.predict(image)
    return dict(sorted(results.items()))


def check_evaluation_set(ann_file: str | Path, image_dir: str | Path, description, max_images: int = 0):
    """The COCO set, checked for evaluation before any prediction: the file (`load_coco`), the
    image files, and the model's classes against its categories. Returns (coco, label → category
    id, a note on the mapping or None)."""
    from lsnet.evaluation.coco_eval import category_mapping

    coco = load_coco(ann_file, description.task, evaluation=True)
    if Path(image_dir).is_dir():  # a video's frames are checked as they are read (`_images`)
        check_images_exist(coco, image_dir, evaluated_ids(coco, max_images))
    return (coco, *category_mapping(coco, description.class_names))


def evaluated_ids(coco, max_images: int = 0) -> list[int]:
    ids = sorted(coco.getImgIds())
    return ids[:max_images] if max_images else ids


def evaluate_detector_coco(detector, ann_file: str | Path, image_dir: str | Path, max_images: int = 0,
                           progress: bool = True) -> dict:
    """pycocotools' evaluation of a detector per iou type (`CocoEvaluation`: the COCO table, and per
    class AP, recall and precision–recall curves); `image_dir` may be the video the annotations are of."""
    from lsnet.evaluation.coco_eval import evaluate_coco

    coco, categories, note = check_evaluation_set(ann_file, image_dir, detector.description, max_images)
    if note and progress:
        warn(note)
    results = predict_coco(detector, coco, image_dir, max_images, progress)
    return evaluate_coco(coco, results, detector.description.task, categories=categories)


def evaluate_detector(detector, ann_file: str | Path, image_dir: str | Path, max_images: int = 0,
                      progress: bool = True) -> dict:
    """COCO metrics of a detector (`{"bbox": {"AP": …}, …}`) through pycocotools."""
    evaluations = evaluate_detector_coco(detector, ann_file, image_dir, max_images, progress)
    return {iou_type: e.stats for iou_type, e in evaluations.items()}


def primary_metric(task: str, metrics: dict) -> float:
    return float(metrics[PRIMARY_IOU_TYPE[task]]["AP"])
