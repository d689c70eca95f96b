"""The one drawing routine: what changes on the image for each task, and the contact sheet."""
import cv2
import numpy as np
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime.detections import Detections
from lsnet.runtime.draw import class_colour, contact_sheet, draw_detections, write_contact_sheet

from small_model import CLASS_NAMES

GREY = 90


def _detections(box, landmarks, label=0, score=0.9) -> Detections:
    return Detections(np.array([box], np.float32), np.array([score], np.float32), np.array([label]),
                      np.array([landmarks], np.float32), CLASS_NAMES)


def _image(h=200, w=300):
    return np.full((h, w, 3), GREY, np.uint8)


def _changed(a, b) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_a_box_changes_pixels_on_its_outline_and_label_only():
    image = _image()
    extreme = [[150, 60], [100, 100], [150, 140], [200, 100]]  # top, left, bottom, right
    drawn = draw_detections(image, _detections([100, 60, 200, 140], extreme, label=2), "bbox")
    assert (image == GREY).all()  # drew on a copy
    changed = _changed(drawn, image)
    assert changed[100, 100] and changed[60, 150] and changed[140, 150]  # outline and extreme points
    assert tuple(drawn[140, 120]) == class_colour(2)  # the bottom edge in the class colour
    assert not changed[100, 150]  # inside the box: untouched
    assert not changed[:, 230:].any() and not changed[170:].any()  # far from the box: untouched
    label_rows = np.nonzero(changed[:59, 100:200].any(axis=1))[0]
    assert len(label_rows) > 5  # the label sits above the box


def test_scores_below_the_threshold_are_not_drawn_and_inplace_draws_on_the_image():
    image = _image()
    detections = _detections([100, 60, 200, 140], [[150, 60], [100, 100], [150, 140], [200, 100]], score=0.2)
    assert not _changed(draw_detections(image, detections, "bbox", score=0.3), image).any()
    out = draw_detections(image, detections, "bbox", score=0.1, inplace=True)
    assert out is image and (image != GREY).any()


def test_a_segm_polygon_is_filled_translucently_inside_and_not_outside():
    image = _image()
    t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    polygon = np.stack([150 + 50 * np.cos(t), 100 + 50 * np.sin(t)], 1)
    drawn = draw_detections(image, _detections([100, 50, 200, 150], polygon, label=1), "segm")
    colour = np.array(class_colour(1), float)
    inside = drawn[110, 160].astype(float)
    assert np.allclose(inside, 0.4 * colour + 0.6 * GREY, atol=1.5)  # blended, not painted over
    assert (drawn[190, 20] == GREY).all()  # outside the box
    assert (drawn[58, 106] == GREY).all()  # inside the box, outside the circle


def test_a_pose_draws_the_skeleton_between_keypoints():
    image = _image(300, 300)
    keypoints = np.array([[150, 40 + 12 * i] for i in range(17)], np.float32)
    keypoints[5:17:2, 0] -= 40  # left side of the body
    keypoints[6:17:2, 0] += 40  # right side
    drawn = draw_detections(image, _detections([100, 30, 200, 250], keypoints), "pose")
    changed = _changed(drawn, image)
    left_hip, right_hip = keypoints[11], keypoints[12]  # skeleton edge (11, 12): a line between the hips
    middle = ((left_hip + right_hip) / 2).round().astype(int)
    assert changed[middle[1], middle[0]]
    assert all(changed[int(y), int(x)] for x, y in keypoints)


def test_contact_sheet_is_a_grid_of_scaled_frames(tmp_path):
    frames = [np.full((60, 80, 3), v, np.uint8) for v in (10, 20, 30, 40, 50)]
    sheet = contact_sheet(frames, columns=2, cell_width=40)
    assert sheet.shape == (3 * 30, 2 * 40, 3)
    assert sheet[0, 0, 0] == 10 and sheet[0, 40, 0] == 20 and sheet[60, 0, 0] == 50 and sheet[60, 40, 0] == 0
    path = write_contact_sheet(tmp_path / "sheet.png", frames, columns=3, cell_width=40)
    assert cv2.imread(str(path)).shape == (2 * 30, 3 * 40, 3)
    with pytest.raises(LSNetError, match="not an image type"):
        write_contact_sheet(tmp_path / "sheet.txt", frames)
