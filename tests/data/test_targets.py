"""Landmark targets (docs/lsnet-official.md §5) against hand-worked examples."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from lsnet.data.targets import (contour_points, contour_target, extreme_points, keypoint_target,
                                mask_to_polygons, segmentation_points, shoelace, uniform_sample)
from lsnet.data.transforms import hflip_landmarks


# --- extreme points (§5.1) ----------------------------------------------------------------------

def test_extreme_points_of_a_diamond_are_its_vertices():
    diamond = np.array([[10, 0], [0, 10], [10, 20], [20, 10]], float)
    np.testing.assert_array_equal(extreme_points(diamond), [[10, 0], [0, 10], [10, 20], [20, 10]])


def test_extreme_top_point_is_the_floored_middle_of_the_flat_top_run():
    # Top edge made of 4 vertices, x from 0 to 9: (9 + 0) // 2 = 4, not 4.5.
    rect = np.array([[0, 6], [0, 0], [4, 0], [7, 0], [9, 0], [9, 6]], float)
    # Worked by hand on the padded sequence [(9,6), (0,6), (0,0), (4,0), (7,0), (9,0), (9,6), (0,6)]:
    # left: argmin x is (0,6) at 1, run (0,6),(0,0) → y (6+0)//2 = 3;
    # bottom: argmax y is the padded (9,6) at 0, run (9,6),(0,6) → x (9+0)//2 = 4;
    # right: argmax x is that same padded (9,6), whose run cannot reach (9,0) → y = 6 (the padding
    # is one vertex at each end, not a true cycle).
    np.testing.assert_array_equal(extreme_points(rect), [[4, 0], [0, 3], [4, 6], [9, 6]])


def test_extreme_points_tolerate_two_percent_of_the_side():
    # h = 100 − 0 + 1 = 101 → tolerance 2.02: the vertex at y = 2 joins the top run, y = 3 would not.
    poly = np.array([[40, 0], [60, 2], [100, 50], [50, 100], [0, 50], [20, 3]], float)
    assert extreme_points(poly)[0].tolist() == [50, 0]  # run x 40..60
    poly[1, 1] = 3
    assert extreme_points(poly)[0].tolist() == [40, 0]


def test_extreme_points_of_an_rle_blob_use_all_foreground_pixels_in_raster_order():
    mask = np.zeros((6, 9), np.uint8)
    mask[3:6, 2:8] = 1  # rows 3–5, columns 2–7
    compressed = mask_utils.encode(np.asfortranarray(mask))
    uncompressed = {"size": [6, 9], "counts": [15] + [3] * 11 + [6]}  # column-major runs, by hand
    for rle in (compressed, uncompressed):
        points = segmentation_points(rle, (6, 9))
        assert len(points) == 18
        # Padded sequence: (7,5), (2,3), (3,3), …, (7,5), (2,3). top: run over row 3 → x (7+2)//2 = 4;
        # left: first pixel (2,3), its raster neighbours are 1 px away (> 0.02·6) → y 3; bottom and
        # right: argmax finds the padded copy of the last pixel (7,5) first, whose run is itself.
        np.testing.assert_array_equal(extreme_points(points), [[4, 3], [2, 3], [7, 5], [7, 5]])


def test_extreme_points_concatenate_all_polygon_parts():
    parts = [[0, 0, 4, 0, 4, 4, 0, 4], [10, 10, 14, 10, 12, 20]]
    points = segmentation_points(parts, (30, 30))
    assert points.shape == (7, 2)
    assert extreme_points(points)[2].tolist() == [12, 20]  # bottom from the second part


def test_flipped_extreme_points_swap_left_and_right():
    marks = np.array([[[5, 0], [0, 3], [5, 6], [10, 3]]], np.float32)
    flipped, visible = hflip_landmarks(marks, np.ones((1, 4), np.float32), 20, "bbox")
    np.testing.assert_array_equal(flipped[0], [[15, 0], [10, 3], [15, 6], [20, 3]])


def test_flipped_extreme_points_equal_those_of_the_mirrored_polygon():
    poly = np.array([[12, 2], [3, 9], [8, 30], [25, 14]], float)
    mirrored = poly * [-1, 1] + [40, 0]
    flipped, _ = hflip_landmarks(extreme_points(poly)[None], np.ones((1, 4)), 40, "bbox")
    np.testing.assert_array_equal(flipped[0], extreme_points(mirrored))


# --- contours (§5.2) ----------------------------------------------------------------------------

RECT = np.array([[0, 0], [12, 0], [12, 6], [0, 6]], float)  # perimeter 36: samples land on integers


def test_contour_of_a_rectangle_has_36_points_starting_top_centre_clockwise_on_screen():
    c = contour_points(RECT)
    assert c.shape == (36, 2)
    np.testing.assert_allclose(c[0], [6, 0])  # closest to (centre-x, ymin)
    np.testing.assert_allclose(c[1], [5, 0])  # then along the top to the left: top → left → bottom → right
    assert shoelace(c) < 0
    np.testing.assert_allclose(sorted(map(tuple, c)), sorted(map(tuple, _rect_boundary_points())), atol=1e-9)


def _rect_boundary_points():
    top = [(x, 0) for x in range(12)]
    right = [(12, y) for y in range(6)]
    bottom = [(12 - x, 6) for x in range(12)]
    left = [(0, 6 - y) for y in range(6)]
    return top + right + bottom + left


def test_contour_of_a_counter_clockwise_polygon_is_reoriented():
    assert shoelace(RECT) > 0 > shoelace(RECT[::-1])  # the two windings of one rectangle
    np.testing.assert_allclose(contour_points(RECT[::-1]), contour_points(RECT), atol=1e-9)


def test_contour_of_an_l_shape_worked_by_hand():
    l_shape = np.array([[0, 0], [4, 0], [4, 8], [8, 8], [8, 12], [0, 12]], float)
    c = contour_points(l_shape)
    # Perimeter 40 → 36, 72, 36, 36, 72, 108 samples per edge; every 10th misses the corner (4, 0):
    # the sample 4/72 down the edge (4,0)→(4,8) is the closest to (4, 0).
    np.testing.assert_allclose(c[0], [4, 8 * 4 / 72])
    np.testing.assert_allclose(c[1], [4 * 30 / 36, 0])
    assert c.shape == (36, 2) and shoelace(c) < 0
    area_36 = mask_utils.area(mask_utils.frPyObjects([c.ravel().tolist()], 20, 20))[0]
    assert area_36 > 0.95 * abs(shoelace(l_shape))


def test_contour_target_takes_the_largest_part_and_reports_dropped_parts():
    big = np.array([[0, 0], [20, 0], [20, 20], [0, 20]], float)
    small = np.array([[30, 30], [35, 30], [35, 35], [30, 35]], float)
    tiny = np.array([[40, 40], [42, 40], [42, 42], [40, 42]], float)  # area 4 ≤ 5
    line = np.array([[1, 1], [9, 9]], float)
    contour, notes = contour_target([small, tiny, big, line], np.array([0, 0, 42, 42]))
    assert contour.max() <= 20 and contour.min() >= 0
    assert sorted(notes) == ["polygon part < 3 points (dropped)",
                             "polygon part tiny: w or h < 1 or area <= 5 (dropped)"]


def test_contour_target_falls_back_to_the_gt_box_when_no_part_survives():
    flat = np.array([[0, 5], [10, 5], [20, 5]], float)  # zero area
    contour, notes = contour_target([flat], np.array([2, 4, 14, 10]))
    np.testing.assert_allclose(contour[0], [8, 4])
    np.testing.assert_allclose(contour.min(0), [2, 4])
    np.testing.assert_allclose(contour.max(0), [14, 10])
    assert notes[-1] == "no polygon part survives: gt box used as contour"


def test_uniform_sample_keeps_the_vertices_with_the_longest_outgoing_edges():
    t = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    circle = np.stack([100 * np.cos(t), 100 * np.sin(t)], 1)
    poly = np.insert(circle, 1, circle[0] + [1e-3, 0], axis=0)  # vertex 0 now has a tiny outgoing edge
    sampled = uniform_sample(poly, 360)
    np.testing.assert_array_equal(sampled, poly[1:])


def test_uniform_sample_takes_the_rounding_surplus_from_the_longest_edge():
    # Edges 10, 11, 10, 10.99, 0.01 (perimeter 42): round(n·360/42) = 86, 94, 86, 94, 0→1 → 361;
    # the surplus comes off the 11-long edge, which keeps 93 samples.
    poly = np.array([[0, 0], [10, 0], [10, 11], [0, 11], [0, 0.01]])
    sampled = uniform_sample(poly, 360)
    assert len(sampled) == 360
    on_edge_1 = (sampled[:, 0] == 10) & (sampled[:, 1] < 11)
    assert on_edge_1.sum() == 93
    np.testing.assert_allclose(np.diff(sampled[on_edge_1, 1]), 11 / 93)


def test_flipped_contour_keeps_point_0_first_and_the_orientation():
    width = 20
    c = contour_points(RECT)
    flipped, _ = hflip_landmarks(c[None], np.ones((1, 36)), width, "segm")
    mirrored_rect = RECT * [-1, 1] + [width, 0]
    np.testing.assert_allclose(flipped[0], contour_points(mirrored_rect), atol=1e-9)
    np.testing.assert_allclose(flipped[0, 0], [width - 6, 0])
    assert shoelace(flipped[0]) < 0


# --- keypoints (§5.3) ---------------------------------------------------------------------------

def test_keypoint_target_binarises_visibility():
    kps = [0.0] * 51
    kps[0:3] = [10, 20, 2]
    kps[3:6] = [11, 21, 1]
    points, visible = keypoint_target(kps)
    assert points.shape == (17, 2)
    assert visible.tolist() == [1, 1] + [0] * 15


def test_flipped_keypoints_swap_left_and_right_and_keep_unlabelled_unlabelled():
    points = np.zeros((1, 17, 2), np.float32)
    visible = np.zeros((1, 17), np.float32)
    points[0, 0], visible[0, 0] = (50, 5), 1  # nose
    points[0, 1], visible[0, 1] = (30, 10), 1  # left eye; the right eye (2) is unlabelled (0, 0)
    points[0, 5], visible[0, 5] = (60, 40), 1  # left shoulder
    points[0, 6], visible[0, 6] = (20, 40), 1  # right shoulder
    flipped, vis = hflip_landmarks(points, visible, 100, "pose")
    np.testing.assert_array_equal(flipped[0, 0], [50, 5])
    np.testing.assert_array_equal(flipped[0, 2], [70, 10])  # the mirrored left eye is now the right eye
    assert vis[0, 2] == 1 and vis[0, 1] == 0  # the unlabelled one moved to "left eye", still unlabelled
    np.testing.assert_array_equal(flipped[0, 1], [100, 0])  # (0, 0) transformed like the others (§5.3)
    np.testing.assert_array_equal(flipped[0, 5], [80, 40])
    np.testing.assert_array_equal(flipped[0, 6], [40, 40])


# --- masks → polygons ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(slice(3, 7), slice(2, 12)), (slice(0, 1), slice(0, 5))])
def test_mask_polygons_rasterise_back_onto_the_same_pixels(shape):
    mask = np.zeros((16, 16), bool)
    mask[shape] = True
    mask[10:15, 10:13] = True  # a second part
    polygons = mask_to_polygons(mask)
    assert len(polygons) == 2
    back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, 16, 16))).astype(bool)
    np.testing.assert_array_equal(back, mask)
