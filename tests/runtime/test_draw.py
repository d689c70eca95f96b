"""The one drawing routine: what changes on the image for each task, and the contact sheet."""
import cv2
import numpy as np
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime.detections import Detections
from lsnet.runtime.draw import (Style, class_colour, contact_sheet, displayed, draw_detections, label_size,
                                place_labels, write_contact_sheet)

from small_model import CLASS_NAMES

GREY = 90


def _detections(box, landmarks, label=0, score=0.9) -> Detections:
    return Detections(np.array([box], np.float32), np.array([score], np.float32), np.array([label]),
                      np.array([landmarks], np.float32), CLASS_NAMES)


def _many(boxes, labels, scores) -> Detections:
    k = len(boxes)
    boxes = np.asarray(boxes, np.float32).reshape(k, 4)
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]], boxes[:, [2, 1]]], 1)
    return Detections(boxes, np.asarray(scores, np.float32), np.asarray(labels, np.int64), corners, CLASS_NAMES,
                      task="bbox")


def _label_rects(image, detections, **display):
    """Where `draw_detections` puts the labels of what it shows (best first)."""
    shown = displayed(detections, **display)
    style = Style.for_image(image.shape[:2])
    sizes = [label_size(f"{n} {v:.2f}", style) for n, v in zip(shown.label_names(), shown.scores)]
    return shown, place_labels(shown.boxes, sizes, image.shape[:2])


def _is(pixel, colour) -> bool:
    return tuple(int(v) for v in pixel) == tuple(colour)


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


TRIANGLE, STAR = 1, 3


def test_the_best_detection_is_drawn_on_top_and_reads_first():
    """Class-wise NMS keeps a triangle at 0.67 and the same object as a star at 0.33: with both drawn,
    the triangle's box is the visible outline and its label sits at the box, the star's label elsewhere."""
    image = _image()
    duplicates = _many([[100, 60, 200, 140], [100, 60, 200, 140]], [STAR, TRIANGLE], [0.33, 0.67])
    drawn = draw_detections(image, duplicates, score=0.3, duplicate_iou=None)
    assert _is(drawn[140, 150], class_colour(TRIANGLE))  # the shared bottom edge: the best box on top
    shown, (best, other) = _label_rects(image, duplicates, score=0.3, duplicate_iou=None)
    assert shown.label_names() == ["triangle", "star"]
    assert best[0] == 100 and best[3] == 60  # above the box, at its left edge: the place one reads
    assert best[2] <= other[0] or other[2] <= best[0] or best[3] <= other[1] or other[3] <= best[1]
    for rect, label in ((best, TRIANGLE), (other, STAR)):
        x0, y0, x1, y1 = rect
        assert _is(drawn[y0, x0], class_colour(label)) and _is(drawn[y1 - 1, x1 - 1], class_colour(label))
        text = drawn[y0:y1, x0:x1]
        assert (text.max(axis=2) < 60).sum() > 10  # black text on the filled box


def test_by_default_another_class_duplicate_is_not_drawn_but_a_distinct_object_is():
    image = _image()
    detections = _many([[100, 60, 200, 140], [102, 62, 200, 140], [10, 10, 60, 50]], [TRIANGLE, STAR, STAR],
                       [0.67, 0.33, 0.5])
    assert displayed(detections).label_names() == ["triangle", "star"]  # the duplicate (IoU 0.96) left out
    assert len(displayed(detections, duplicate_iou=None)) == 3 and len(detections) == 3  # Detections unchanged
    drawn = draw_detections(image, detections)
    star = np.all(drawn == class_colour(STAR), axis=2)
    assert star[:55, :65].any() and not star[55:, 90:].any()  # the lone star is drawn, the duplicate not
    assert not displayed(detections, score=0.7)  # the display threshold


def test_labels_stay_inside_the_image_at_its_edges():
    image = _image(120, 160)
    detections = _many([[120, 0, 160, 40], [0, 90, 30, 120]], [TRIANGLE, STAR], [0.9, 0.8])  # top-right, bottom-left
    drawn = draw_detections(image, detections)
    _, rects = _label_rects(image, detections)
    for (x0, y0, x1, y1), label in zip(rects, (TRIANGLE, STAR)):
        assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 120
        assert _is(drawn[y0, x0], class_colour(label)) and _is(drawn[y1 - 1, x1 - 1], class_colour(label))
    assert rects[0][2] == 160  # shifted left to end at the right edge, not cut off


def test_labels_of_crowded_boxes_never_overlap_and_those_without_room_are_left_out():
    image = _image(60, 200)
    boxes = [[10 * i, 0, 10 * i + 40, 30] for i in range(12)]  # twelve boxes in a row at the top
    detections = _many(boxes, [i % 5 for i in range(12)], np.linspace(0.9, 0.4, 12))
    drawn = draw_detections(image, detections, duplicate_iou=None)
    shown, rects = _label_rects(image, detections, duplicate_iou=None)
    placed = [(r, label) for r, label in zip(rects, shown.labels) if r is not None]
    assert 2 <= len(placed) < 12 and rects[0] is not None  # the best always has its label
    for i, (a, _) in enumerate(placed):
        for b, _ in placed[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    for (x0, y0, x1, y1), label in placed:  # each label's box shows its own colour: nothing drew over it
        assert _is(drawn[y0, x0], class_colour(label)) and _is(drawn[y1 - 1, x1 - 1], class_colour(label))


def test_text_and_lines_grow_with_the_image_and_stay_readable_on_small_ones():
    small, demo, full_hd = (Style.for_image(hw) for hw in ((120, 160), (256, 320), (1080, 1920)))
    assert small == demo and label_size("triangle 0.67", demo)[1] <= 18  # 9-px text on the demo frames
    assert full_hd.font_scale > 2 * demo.font_scale and full_hd.line > demo.line
    assert label_size("triangle 0.67", small)[0] < 100  # fits a 160-px-wide image
