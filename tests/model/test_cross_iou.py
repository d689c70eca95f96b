"""Cross-IOU loss (docs/lsnet-official.md §3) on examples worked by hand."""
import math

import pytest
import torch

from lsnet.model import vectors
from lsnet.model.cross_iou import (ciou_penalty, cross_iou_loss, overlap_bbox, overlap_keypoint,
                                   overlap_polygon)


def test_soften_replaces_each_zero_slot_by_alpha_times_its_partner():
    hard = torch.tensor([2.0, 0.0, 0.0, 1.0])  # t b l r: up 2, right 1
    assert vectors.soften(hard, 0.2).tolist() == pytest.approx([2.0, 0.4, 0.2, 1.0])


def test_bbox_overlap_is_one_ratio_over_all_components():
    pred = torch.tensor([[[1.0, 0.5, 0.0, 2.0]]])
    target = vectors.soften(torch.tensor([[[2.0, 0.0, 0.0, 1.0]]]), 0.2)  # (2, .4, .2, 1)
    # Σ min = 1 + .4 + 0 + 1 = 2.4 ; Σ max = 2 + .5 + .2 + 2 = 4.7
    assert overlap_bbox(pred, target).item() == pytest.approx(2.4 / 4.7)
    # two vectors: not the mean of the per-vector ratios
    pred2 = torch.cat((pred, torch.tensor([[[0.0, 0.0, 0.0, 4.0]]])), dim=1)
    target2 = torch.cat((target, torch.tensor([[[0.0, 0.0, 0.0, 1.0]]])), dim=1)
    assert overlap_bbox(pred2, target2).item() == pytest.approx((2.4 + 1) / (4.7 + 4))


def test_polygon_overlap_is_the_mean_over_nine_interleaved_groups():
    target = torch.rand(1, 37, 4) + 0.5
    pred = target.clone()
    pred[0, 4] *= 2  # vector 4 belongs to group 4 = {4, 13, 22, 31}
    g = [4, 13, 22, 31]
    ratio = (torch.minimum(pred[0, g], target[0, g]).sum() / torch.maximum(pred[0, g], target[0, g]).sum()).item()
    assert overlap_polygon(pred, target).item() == pytest.approx((8 + ratio) / 9)
    # vector 36 (the centre) is in group 0
    pred = target.clone()
    pred[0, 36] *= 3
    g0 = [0, 9, 18, 27, 36]
    ratio0 = (torch.minimum(pred[0, g0], target[0, g0]).sum() / torch.maximum(pred[0, g0], target[0, g0]).sum()).item()
    assert overlap_polygon(pred, target).item() == pytest.approx((8 + ratio0) / 9)


def test_keypoint_overlap_is_per_axis_and_zeroes_unlabelled_keypoints_with_a_fixed_divisor():
    # keypoint: pred (t b l r) = (1, 0, 0, 3), target (2, 0, 0, 1); centre: perfect (1, 0, 1, 0)
    pred = torch.tensor([[[1.0, 0.0, 0.0, 3.0], [1.0, 0.0, 1.0, 0.0]]])
    target = torch.tensor([[[2.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]]])
    y_ratio = (1 + 0) / (2 + 1e-6)  # (min(t) + min(b)) / (max(ε, max t) + max(ε, max b))
    x_ratio = (0 + 1) / (1e-6 + 3)
    centre = 1 / (1 + 1e-6) + 1 / (1 + 1e-6)
    labelled = overlap_keypoint(pred, target, torch.tensor([[2.0]]))
    assert labelled.item() == pytest.approx((y_ratio + x_ratio + centre) / 4)
    unlabelled = overlap_keypoint(pred, target, torch.tensor([[0.0]]))
    assert unlabelled.item() == pytest.approx(centre / 4)  # still divided by 4


def test_ciou_penalty_worked_by_hand():
    pred, gt = torch.tensor([[0.0, 0.0, 2.0, 2.0]]), torch.tensor([[1.0, 1.0, 3.0, 5.0]])
    overlap = torch.tensor([0.5])
    c2 = 3 ** 2 + 5 ** 2  # enclosing box (0,0)–(3,5)
    rho2 = 1 ** 2 + 2 ** 2  # centres (1,1) and (2,3)
    v = 4 / math.pi ** 2 * (math.atan(2 / 4) - math.atan(2 / 2)) ** 2
    assert ciou_penalty(pred, gt, overlap).item() == pytest.approx(rho2 / c2 + v ** 2 / (1 - 0.5 + v), rel=1e-5)


def bbox_example():
    """Anchor at the origin; extremes top (0,−2), left (−3,0), bottom (0,1), right (2,0); centre."""
    points = torch.tensor([[[0.0, -2.0], [-3.0, 0.0], [0.0, 1.0], [2.0, 0.0], [-0.5, -0.5]]])
    target = vectors.encode(points)
    anchors = torch.zeros(1, 2)
    gt_box = torch.tensor([[-3.0, -2.0, 2.0, 1.0]])
    return target, anchors, gt_box


def test_perfect_prediction_has_zero_loss():
    target, anchors, gt_box = bbox_example()
    perfect = vectors.soften(target, 0.2)
    loss = cross_iou_loss(perfect, target, "bbox", anchors, gt_box)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(loss).all()


def test_loss_by_hand_for_a_wrong_vector():
    target, anchors, gt_box = bbox_example()
    soft = vectors.soften(target, 0.2)
    pred = soft.clone()
    pred[0, 3] = torch.tensor([0.0, 0.0, 1.0, 0.0])  # right extreme predicted 1 px to the LEFT
    o = torch.minimum(pred, soft).sum() / torch.maximum(pred, soft).sum()
    box = torch.tensor([[-3.0, -2.0, -1.0, 1.0]])  # x2 = −1 now
    expected = 1 - (o - ciou_penalty(box, gt_box, o.view(1)))
    assert cross_iou_loss(pred, target, "bbox", anchors, gt_box).item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_is_nonzero_when_a_component_has_the_wrong_sign():
    target, anchors, gt_box = bbox_example()
    pred = vectors.soften(target, 0.2).clone()
    pred[0, 2] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # bottom extreme predicted upward: b = 0
    pred.requires_grad_(True)
    cross_iou_loss(pred, target, "bbox", anchors, gt_box).backward()
    assert pred.grad[0, 2, 1] < 0  # increasing b (the right direction) lowers the loss
    assert pred.grad[0, 2, 0] > 0  # and so does decreasing the wrong-side t


def test_loss_is_scale_invariant():
    target, anchors, gt_box = bbox_example()
    pred = vectors.soften(target, 0.2) * torch.tensor([1.3, 0.7, 1.1, 0.9])
    base = cross_iou_loss(pred, target, "bbox", anchors, gt_box)
    for k in (0.1, 7.0, 300.0):
        scaled = cross_iou_loss(pred * k, target * k, "bbox", anchors * k, gt_box * k)
        assert scaled.item() == pytest.approx(base.item(), rel=1e-4)
