"""`lsnet.runtime.compare`: matching two models' detections and measuring their differences."""
import numpy as np
import pytest

from lsnet.runtime.compare import agree, box_iou, compare_detections, match_detections
from lsnet.runtime.detections import Detections


def detections(boxes, scores, labels) -> Detections:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 3]]], axis=1)  # two "landmarks" per detection
    return Detections(boxes, np.asarray(scores, np.float32), np.asarray(labels, np.int64), corners, ["a", "b"])


def test_box_iou_of_identical_disjoint_and_half_overlapping_boxes():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 0, 15, 10]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 0.0, 1 / 3]])


def test_matches_need_the_same_label_and_enough_overlap():
    reference = detections([[0, 0, 10, 10], [20, 20, 40, 40]], [0.9, 0.8], [0, 1])
    other = detections([[0, 0, 10, 11], [20, 20, 40, 40]], [0.9, 0.8], [0, 0])
    matches = match_detections(reference, other)
    assert matches.pairs == [(0, 0)] and matches.unmatched == 1
    assert matches.iou == [pytest.approx(10 / 11)]


def test_a_score_just_under_the_threshold_is_a_score_difference_not_a_miss():
    reference = detections([[0, 0, 10, 10]], [0.31], [0])
    other = detections([[0, 0, 10, 10]], [0.29], [0])
    summary = compare_detections([reference], [other], score=0.3)
    assert (summary["matched"], summary["missed"], summary["extra"]) == (1, 0, 0)
    assert summary["score_abs_max"] == pytest.approx(0.02)
    far_below = detections([[0, 0, 10, 10]], [0.2], [0])
    assert compare_detections([reference], [far_below], score=0.3)["missed"] == 1


def test_summary_counts_missed_and_extra_detections_and_measures_the_matched():
    reference = detections([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.5], [0, 1])
    other = detections([[1, 0, 11, 10], [80, 80, 90, 90]], [0.85, 0.7], [0, 1])
    summary = compare_detections([reference], [other], score=0.3)
    assert summary["reference_detections"] == 2 and summary["detections"] == 2
    assert (summary["matched"], summary["missed"], summary["extra"]) == (1, 1, 1)
    assert summary["box_abs_max"] == pytest.approx(1.0) and summary["landmark_abs_max"] == pytest.approx(1.0)
    assert summary["box_iou_min"] == pytest.approx(90 / 110)
    assert not agree(summary)


def test_identical_detections_agree_and_no_detections_agree_trivially():
    same = detections([[0, 0, 10, 10]], [0.9], [0])
    summary = compare_detections([same, same], [same, same])
    assert agree(summary) and summary["box_iou_min"] == 1.0 and summary["images"] == 2
    empty = detections(np.zeros((0, 4)), [], [])
    nothing = compare_detections([empty], [empty])
    assert agree(nothing) and nothing["box_iou_min"] is None and nothing["box_abs_max"] is None
