"""COCO formatting (docs/lsnet-official.md §8.3) and pycocotools evaluation of `Detections`."""
import io
from contextlib import redirect_stdout

import numpy as np
import pytest
from pycocotools.coco import COCO

from lsnet.errors import LSNetError
from lsnet.evaluation.coco_eval import evaluate, evaluate_coco, format_results
from lsnet.landmarks import COCO_KEYPOINT_NAMES
from lsnet.runtime.detections import Detections

H, W = 120, 160


def _coco(annotations, categories=({"id": 1, "name": "thing"},), num_images=1) -> COCO:
    coco = COCO()
    coco.dataset = {"images": [{"id": i, "width": W, "height": H, "file_name": f"{i}.jpg"}
                               for i in range(1, num_images + 1)],
                    "annotations": [{"id": k, "iscrowd": 0, **a} for k, a in enumerate(annotations, 1)],
                    "categories": list(categories)}
    with redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _polygon(cx, cy, r, n=36):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], 1)


def _person(x0, y0):
    points = np.array([[x0 + 5 + 4 * (i % 5), y0 + 5 + 5 * i] for i in range(17)], float)
    return points, {"bbox": [x0, y0, 40, 95], "area": 40 * 95, "num_keypoints": 17, "category_id": 1,
                    "keypoints": np.concatenate([points, np.full((17, 1), 2)], 1).ravel().tolist()}


def _dets(boxes, landmarks, labels=None, scores=None) -> Detections:
    k = len(boxes)
    return Detections(np.asarray(boxes, np.float32).reshape(k, 4),
                      np.asarray(scores if scores is not None else np.linspace(0.9, 0.5, k), np.float32),
                      np.asarray(labels if labels is not None else np.zeros(k), np.int64),
                      np.asarray(landmarks, np.float32), ["thing"])


def test_ground_truth_fed_back_gives_box_ap_1():
    boxes = [[10, 10, 50, 40], [60, 20, 150, 110]]
    coco = _coco([{"image_id": 1, "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1)}
                  for x1, y1, x2, y2 in boxes])
    metrics = evaluate(coco, {1: _dets(boxes, np.zeros((2, 4, 2)))}, "bbox")
    assert set(metrics) == {"bbox"}
    assert metrics["bbox"]["AP"] == 1.0 and metrics["bbox"]["AR100"] == 1.0
    assert isinstance(metrics["bbox"]["AP50"], float) and len(metrics["bbox"]) == 12


def test_ground_truth_contours_fed_back_give_mask_ap_1():
    polygons = [_polygon(40, 50, 25), _polygon(110, 60, 35)]
    anns = [{"image_id": 1, "category_id": 1, "segmentation": [p.ravel().tolist()],
             "bbox": [*p.min(0), *(p.max(0) - p.min(0))], "area": 1000.0} for p in polygons]
    boxes = [np.concatenate([p.min(0), p.max(0)]) for p in polygons]
    metrics = evaluate(_coco(anns), {1: _dets(boxes, polygons)}, "segm")
    assert list(metrics) == ["segm", "bbox"]
    assert metrics["segm"]["AP"] == 1.0 and metrics["bbox"]["AP"] == 1.0


def test_ground_truth_keypoints_fed_back_give_keypoint_ap_1():
    (p1, a1), (p2, a2) = _person(10, 10), _person(90, 15)
    coco = _coco([{"image_id": 1, **a1}, {"image_id": 1, **a2}],
                 categories=[{"id": 1, "name": "person", "keypoints": list(COCO_KEYPOINT_NAMES)}])
    boxes = [[10, 10, 50, 105], [90, 15, 130, 110]]
    metrics = evaluate(coco, {1: _dets(boxes, [p1, p2])}, "pose")
    assert list(metrics) == ["keypoints"] and len(metrics["keypoints"]) == 10
    assert metrics["keypoints"]["AP"] == 1.0


def test_shifted_box_scores_only_the_iou_thresholds_it_passes():
    coco = _coco([{"image_id": 1, "category_id": 1, "bbox": [40, 40, 40, 40], "area": 1600}])
    # Shifted by 8 px: IoU = 32·40 / (48·40) = 0.667 ≥ 0.50, 0.55, 0.60, 0.65 only → AP 4/10.
    metrics = evaluate(coco, {1: _dets([[48, 40, 88, 80]], np.zeros((1, 4, 2)))}, "bbox")["bbox"]
    assert metrics["AP50"] == pytest.approx(1.0) and metrics["AP75"] == 0.0
    assert metrics["AP"] == pytest.approx(0.4)


def test_empty_results_give_zero_without_crashing():
    coco = _coco([{"image_id": 1, "category_id": 1, "bbox": [40, 40, 40, 40], "area": 1600,
                   "segmentation": [[40, 40, 80, 40, 80, 80, 40, 80]]}])
    metrics = evaluate(coco, {}, "segm")
    assert list(metrics) == ["segm", "bbox"] and len(metrics["segm"]) == 12
    assert all(v == 0.0 for stats in metrics.values() for v in stats.values())
    none = _dets(np.zeros((0, 4)), np.zeros((0, 36, 2)))
    metrics = evaluate(coco, {1: none}, "segm")
    assert metrics["segm"]["AP"] == 0.0 and metrics["bbox"]["AR100"] == 0.0


def test_labels_map_back_to_category_ids_sorted():
    coco = _coco([], categories=[{"id": 7, "name": "b"}, {"id": 3, "name": "a"}])
    entries = format_results(coco, {1: _dets([[0, 0, 10, 10], [5, 5, 20, 20]], np.zeros((2, 4, 2)), labels=[1, 0])},
                             "bbox")["bbox"]
    assert [e["category_id"] for e in entries] == [7, 3]
    assert entries[1]["bbox"] == [5.0, 5.0, 15.0, 15.0]  # x, y, w, h
    with pytest.raises(LSNetError, match="outside the 2 categories"):
        format_results(coco, {1: _dets([[0, 0, 10, 10]], np.zeros((1, 4, 2)), labels=[2])}, "bbox")
    with pytest.raises(LSNetError, match="image id 5"):
        format_results(coco, {5: _dets([[0, 0, 10, 10]], np.zeros((1, 4, 2)))}, "bbox")


def test_pose_results_keep_boxes_over_1024_px2_with_every_visibility_1():
    coco = _coco([], categories=[{"id": 1, "name": "person"}])
    kps = np.tile(np.arange(17, dtype=np.float32)[None, :, None], (2, 1, 2))
    entries = format_results(coco, {1: _dets([[0, 0, 32, 32], [0, 0, 33, 32]], kps)}, "pose")["keypoints"]
    assert len(entries) == 1  # 32 × 32 = 1024 is dropped (docs/lsnet-official.md §8.3)
    assert entries[0]["keypoints"][2::3] == [1.0] * 17 and entries[0]["keypoints"][3:5] == [1.0, 1.0]


def test_evaluation_is_silent_unless_verbose(capsys):
    coco = _coco([{"image_id": 1, "category_id": 1, "bbox": [40, 40, 40, 40], "area": 1600}])
    results = {1: _dets([[40, 40, 80, 80]], np.zeros((1, 4, 2)))}
    evaluate(coco, results, "bbox")
    assert capsys.readouterr().out == ""
    evaluate(coco, results, "bbox", verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "bbox:" and len(out) == 13 and out[1].lstrip().startswith("Average Precision")


def test_per_class_ap_and_recall_are_pycocotools_precision_sliced_per_category():
    """Three classes in two images: 'a' found exactly, 'b' found once of twice (its other box shifted
    to IoU 0.667) at score 0.2, 'c' has no ground truth but a false detection."""
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    gt = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "area": 1600},
          {"image_id": 1, "category_id": 2, "bbox": [80, 20, 40, 40], "area": 1600},
          {"image_id": 2, "category_id": 2, "bbox": [40, 40, 40, 40], "area": 1600}]
    coco = _coco(gt, categories=cats, num_images=2)
    names = ["a", "b", "c"]
    results = {1: Detections(np.array([[10, 10, 50, 50], [80, 20, 120, 60], [0, 0, 5, 5]], np.float32),
                             np.array([0.9, 0.2, 0.6], np.float32), np.array([0, 1, 2]), np.zeros((3, 4, 2)), names),
               2: Detections(np.array([[48, 40, 88, 80]], np.float32), np.array([0.8], np.float32), np.array([1]),
                             np.zeros((1, 4, 2)), names)}
    e = evaluate_coco(coco, results, "bbox")["bbox"]
    per_class = e.per_class(score=0.3)
    assert list(per_class) == names and [r["instances"] for r in per_class.values()] == [1, 2, 0]
    assert per_class["a"]["AP"] == pytest.approx(1.0) and per_class["a"]["R50"] == 1.0
    # b: at IoU 0.50–0.65 both found, the 0.8 one first: precision 1 → AP 1; above, only the exact one,
    # found second (precision 1/2 at recall 1/2) → AP50 1, AP75 0.5·(51/101), AP the mean over the ten IoUs.
    assert per_class["b"]["AP50"] == pytest.approx(1.0) and per_class["b"]["R50"] == 1.0
    assert per_class["b"]["AP75"] == pytest.approx(0.5 * 51 / 101)
    assert per_class["b"]["AP"] == pytest.approx((4 * 1.0 + 6 * 0.5 * 51 / 101) / 10)
    assert per_class["b"]["R50@0.3"] == pytest.approx(0.5)  # the 0.2 detection is below the drawing threshold
    assert e.per_class(score=0.1)["b"]["R50@0.1"] == pytest.approx(1.0)
    assert per_class["c"] == {"AP": -1.0, "AP50": -1.0, "AP75": -1.0, "R50": -1.0, "R50@0.3": -1.0, "instances": 0}
    # the classes' mean is pycocotools' AP, as detectron2 reports it
    assert np.mean([per_class["a"]["AP"], per_class["b"]["AP"]]) == pytest.approx(e.stats["AP"])
