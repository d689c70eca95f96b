"""Stage-1 centroid and stage-2 ATSS assignment (docs/lsnet-official.md §4) on hand-made cases."""
import torch

from lsnet.model.assigners import atss_assign, centroid_assign
from lsnet.model.decode import anchor_points


def flat_points(sizes, strides):
    pts = torch.cat([anchor_points(h, w, s) for (h, w), s in zip(sizes, strides)])
    levels = torch.cat([torch.full((h * w,), s) for (h, w), s in zip(sizes, strides)]).float().log2().int()
    return pts, levels


SIZES, STRIDES = [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)], [8, 16, 32, 64, 128]


def test_centroid_picks_the_level_by_size_and_the_nearest_point():
    pts, levels = flat_points(SIZES, STRIDES)
    valid = torch.ones(len(pts), dtype=torch.bool)
    boxes = torch.tensor([[30.0, 25.0, 70.0, 65.0],  # √(wh) = 40 → P3, centre (50, 45) → point (48, 48)
                          [100.0, 100.0, 200.0, 200.0],  # 100 → P4, centre (150, 150) → (144, 144) or (160, 160)
                          [0.0, 0.0, 300.0, 300.0]])  # 300 → P6, centre (150, 150) → (128, 128)
    assigned = centroid_assign(pts, levels, valid, boxes)
    pos = torch.nonzero(assigned >= 0, as_tuple=True)[0]
    got = {int(assigned[i]): (tuple(pts[i].tolist()), int(levels[i])) for i in pos}
    assert got[0] == ((48.0, 48.0), 3)
    assert got[1][1] == 4 and got[1][0] in {(144.0, 144.0), (160.0, 160.0)}
    assert got[2] == ((128.0, 128.0), 6)
    assert len(pos) == 3  # exactly one point per ground truth (pos_num = 1)


def test_centroid_scale_moves_every_ground_truth_to_a_level_log2_of_the_scale_finer():
    pts, levels = flat_points(SIZES, STRIDES)
    valid = torch.ones(len(pts), dtype=torch.bool)
    boxes = torch.tensor([[100.0, 100.0, 200.0, 200.0], [0.0, 0.0, 300.0, 300.0]])  # √(wh) 100, 300
    for scale, expected in ((4, [4, 6]), (8, [3, 5]), (16, [3, 4])):  # trunc(log2(√(wh)/scale)), clamped to P3
        assigned = centroid_assign(pts, levels, valid, boxes, scale)
        pos = torch.nonzero(assigned >= 0, as_tuple=True)[0]
        assert sorted(int(levels[i]) for i in pos) == expected, scale


def test_centroid_conflict_goes_to_the_nearer_ground_truth_and_the_other_gets_nothing():
    pts, levels = flat_points(SIZES, STRIDES)
    valid = torch.ones(len(pts), dtype=torch.bool)
    boxes = torch.tensor([[28.0, 28.0, 68.0, 68.0],  # centre (48, 48): exactly on a point
                          [29.0, 29.0, 69.0, 69.0]])  # centre (49, 49): same nearest point, farther
    assigned = centroid_assign(pts, levels, valid, boxes)
    assert (assigned == 0).sum() == 1 and (assigned == 1).sum() == 0


def test_centroid_pos_num_takes_the_nearest_points_and_shares_none():
    pts, levels = flat_points(SIZES, STRIDES)
    valid = torch.ones(len(pts), dtype=torch.bool)
    # A: centre (50, 45), 40×40 → normalised distances to (48,48) .090, (48,40) .135, (56,48) .168,
    # (56,40) .195. B: centre (58, 50), 40×44 → (56,48) .064, (56,56) .145, (64,48) .157, (64,56) .203.
    boxes = torch.tensor([[30.0, 25.0, 70.0, 65.0], [38.0, 28.0, 78.0, 72.0]])
    assigned = centroid_assign(pts, levels, valid, boxes, pos_num=4)
    got = {k: {tuple(pts[i].tolist()) for i in torch.nonzero(assigned == k, as_tuple=True)[0]} for k in (0, 1)}
    assert got[0] == {(48.0, 48.0), (48.0, 40.0), (56.0, 40.0)}  # (56, 48) went to the nearer B
    assert got[1] == {(56.0, 48.0), (56.0, 56.0), (64.0, 48.0), (64.0, 56.0)}
    assert set(levels[assigned >= 0].tolist()) == {3}


def test_centroid_ignores_invalid_points():
    pts, levels = flat_points(SIZES, STRIDES)
    valid = ~((pts[:, 0] == 48) & (pts[:, 1] == 48) & (levels == 3))
    assigned = centroid_assign(pts, levels, valid, torch.tensor([[28.0, 28.0, 68.0, 68.0]]))
    i = torch.nonzero(assigned == 0, as_tuple=True)[0]
    assert len(i) == 1 and tuple(pts[i[0]].tolist()) != (48.0, 48.0)


def test_atss_threshold_is_mean_plus_std_of_the_candidate_ious():
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    boxes = torch.tensor([[0.0, 0.0, 10.0, 9.0],  # IoU 0.9
                          [0.0, 0.0, 10.0, 5.0],  # 0.5
                          [0.0, 0.0, 10.0, 1.0],  # 0.1
                          [20.0, 20.0, 30.0, 30.0]])  # 0
    # mean 0.375, unbiased std 0.411 → threshold 0.786: only the first is positive
    assigned = atss_assign(boxes, [4], torch.ones(4, dtype=torch.bool), gt)
    assert assigned.tolist() == [0, -1, -1, -1]


def test_atss_requires_the_predicted_box_centre_inside_the_ground_truth():
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    boxes = torch.tensor([[-5.5, 0.0, 4.5, 10.0],  # IoU 0.29, centre x −0.5: outside
                          [0.0, 0.0, 10.0, 1.0],
                          [0.0, 0.0, 10.0, 0.5],
                          [20.0, 20.0, 30.0, 30.0]])
    assert atss_assign(boxes, [4], torch.ones(4, dtype=torch.bool), gt).tolist() == [-1, -1, -1, -1]
    boxes[0] = torch.tensor([-4.5, 0.0, 5.5, 10.0])  # centre x 0.5: inside
    assert atss_assign(boxes, [4], torch.ones(4, dtype=torch.bool), gt).tolist() == [0, -1, -1, -1]


def test_atss_gives_a_box_claimed_twice_to_the_higher_iou():
    box = [0.0, 0.0, 10.0, 10.5]  # IoU 0.952 with the 10×10 box, 0.875 with the 10×12 box
    boxes = torch.tensor([box, [40.0, 40, 50, 50], [60.0, 60, 70, 70], [80.0, 80, 90, 90]])
    valid = torch.ones(4, dtype=torch.bool)
    small, large = [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 12.0]
    assert atss_assign(boxes, [4], valid, torch.tensor([small, large]))[0] == 0
    assert atss_assign(boxes, [4], valid, torch.tensor([large, small]))[0] == 1
    # each alone would take it
    assert atss_assign(boxes, [4], valid, torch.tensor([large]))[0] == 0
