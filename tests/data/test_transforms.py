"""Resize and flip of targets (docs/lsnet-official.md §5.1–§5.3): what is scaled, what is clipped."""
import numpy as np

from lsnet.data.targets import Targets
from lsnet.data.transforms import hflip, resize


def _targets(landmarks, boxes):
    landmarks, boxes = np.asarray(landmarks, np.float32), np.asarray(boxes, np.float32)
    return Targets(boxes, np.zeros(len(landmarks), np.int64), landmarks, np.ones(landmarks.shape[:2], np.float32),
                   centres=(boxes[:, :2] + boxes[:, 2:]) / 2)


def test_resize_scales_by_the_keep_ratio_factor_and_clips_bbox_and_pose():
    image = np.zeros((100, 200, 3), np.uint8)
    for task in ("bbox", "pose"):
        t = _targets([[[50, -4], [210, 30]]], [[-10, 10, 250, 90]])
        out_image, out, scale = resize(image, t, (50, 50), task)  # fits at 0.25 → 25×50
        assert scale == 0.25 and out_image.shape == (25, 50, 3)
        np.testing.assert_allclose(out.boxes, [[0, 2.5, 50, 22.5]])
        np.testing.assert_allclose(out.landmarks, [[[12.5, 0], [50, 7.5]]])


def test_resize_does_not_clip_contours_and_boxes_them():
    image = np.zeros((100, 200, 3), np.uint8)
    t = _targets([[[-20, 10], [100, 120], [60, 0]]], [[-20, 0, 100, 120]])
    _, out, _ = resize(image, t, (50, 50), "segm")
    np.testing.assert_allclose(out.landmarks, [[[-5, 2.5], [25, 30], [15, 0]]])
    np.testing.assert_allclose(out.boxes, [[-5, 0, 25, 30]])
    assert out.boxes.dtype == np.float32 and out.landmarks.dtype == np.float32


def test_hflip_mirrors_boxes_as_w_minus_x():
    image = np.arange(2 * 10 * 3, dtype=np.uint8).reshape(2, 10, 3)
    flipped_image, out = hflip(image, _targets([[[1, 1]] * 4], [[1, 0, 4, 2]]), "bbox")
    np.testing.assert_array_equal(out.boxes, [[6, 0, 9, 2]])
    np.testing.assert_array_equal(flipped_image, image[:, ::-1])


def test_resize_scales_then_clips_centres_so_a_box_crossing_the_border_keeps_its_own():
    # box x −10 … 250 in a 200-wide image: centre x 120 → 30 at 0.25 (the clipped box's would be 25);
    # x −100 … 20: centre −40 → −10, clipped to 0 (§5.1: the extreme points' centre pair)
    image = np.zeros((100, 200, 3), np.uint8)
    t = _targets([[[0, 0]] * 4, [[0, 0]] * 4], [[-10, 10, 250, 90], [-100, 0, 20, 40]])
    _, out, _ = resize(image, t, (50, 50), "bbox")
    np.testing.assert_allclose(out.centres, [[30, 12.5], [0, 5]])
    np.testing.assert_allclose(out.boxes[1], [0, 0, 5, 10])


def test_hflip_mirrors_centres():
    image = np.zeros((2, 10, 3), np.uint8)
    _, out = hflip(image, _targets([[[1, 1]] * 4], [[-2, 0, 4, 2]]), "bbox")
    np.testing.assert_array_equal(out.centres, [[9, 1]])
