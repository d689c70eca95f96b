"""LSHead structure per task (docs/lsnet-official.md §2.3, §2.6) and its gradient tricks (docs/lsnet-official.md §2.8)."""
import pytest
import torch

from lsnet.errors import LSNetError
from lsnet.model import vectors
from lsnet.model.config import ModelConfig
from lsnet.model.lsnet import LSNet


def tiny(task="bbox", pose_box="obj", **kw) -> LSNet:
    cfg = ModelConfig(task=task, pose_box=pose_box, num_classes=3, depth=18, fpn_channels=16, head_channels=16,
                      gn_groups=4, stacked_convs=1, frozen_stages=-1, norm_eval=False, **kw)
    torch.manual_seed(0)
    return LSNet(cfg)


@pytest.mark.parametrize("task,pose_box,init,refine", [
    ("bbox", "obj", {"bbox": 28}, {"bbox": 20}),
    ("segm", "obj", {"segm": 148}, {"segm": 148}),
    ("pose", "obj", {"bbox": 28, "pose": 72}, {"bbox": 20, "pose": 72}),
    ("pose", "kps", {"pose": 72}, {"pose": 72}),
])
def test_branch_channels_follow_spec(task, pose_box, init, refine):
    model = tiny(task, pose_box)
    for name, ch in init.items():
        assert getattr(model.head, f"pts_{name}_init_out").out_channels == ch
    for name, ch in refine.items():
        assert getattr(model.head, f"pts_{name}_refine_out").out_channels == ch
    out = model(torch.randn(1, 3, 128, 96))
    assert [tuple(c.shape[-2:]) for c in out.cls_logits] == [(16, 12), (8, 6), (4, 3), (2, 2), (1, 1)]
    assert all((v >= 0).all() for vs in out.refined_vectors.values() for v in vs)  # Softplus


def test_dcn_taps_use_the_spec_landmarks():
    assert tiny("bbox").head.branches[0].tap_vectors == [0, 1, 2, 3, 4]
    assert tiny("segm").head.branches[0].tap_vectors == [0, 5, 10, 15, 20, 25, 30, 35, 36]
    assert tiny("pose", "kps").head.branches[0].tap_vectors == [1, 3, 5, 7, 9, 11, 13, 15, 17]
    # nose, left eye, then left and right elbow, wrist, ankle (COCO order), then the centre
    assert tiny("pose", "kps", pose_taps="symmetric").head.branches[0].tap_vectors == [0, 1, 7, 8, 9, 10, 15, 16, 17]


@pytest.mark.parametrize("pose_taps,keypoints", [("official", [1, 3, 5, 7, 9, 11, 13, 15]),
                                                 ("symmetric", [0, 1, 7, 8, 9, 10, 15, 16])])
def test_pose_dcn_samples_at_the_decoded_tap_keypoints(pose_taps, keypoints):
    model = tiny("pose", "kps", pose_taps=pose_taps)
    head, branch = model.head, model.head.branches[0]
    feat = torch.randn(1, head.cfg.head_channels, 5, 6, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        head.pts_pose_init_out.bias.normal_(0, 2)  # vectors of both signs, far from Softplus(0)
        sp, offsets = head._stage1(branch, feat)
    sampled = (offsets + head.dcn_base_offset).reshape(1, 9, 2, 5, 6)  # (dy, dx) of each tap
    landmark = vectors.decode(vectors.as_vectors(sp)).permute(0, 3, 4, 1, 2)  # [B, V, (dx, dy), H, W]
    for tap, k in enumerate(keypoints + [17]):
        torch.testing.assert_close(sampled[:, tap], landmark[:, k].flip(1))


def test_unknown_pose_taps_is_a_config_error():
    with pytest.raises(LSNetError, match="pose_taps must be one of official, symmetric, got 'right'"):
        ModelConfig(task="pose", pose_taps="right")


def test_classification_samples_at_the_pose_landmarks_in_pose_tasks():
    assert tiny("pose", "obj").head.cls_branch == "pose"
    assert tiny("bbox").head.cls_branch == "bbox"


def stage2_grad_of_init_out(gradient_mul: float) -> torch.Tensor:
    model = tiny("bbox", gradient_mul=gradient_mul)
    out = model(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)))
    stage2 = sum(c.sum() for c in out.cls_logits) + sum(v.sum() for v in out.refined_vectors["bbox"])
    stage2.backward()
    return model.head.pts_bbox_init_out.weight.grad.clone()


def test_stage2_gradient_reaches_stage1_only_through_dcn_offsets_scaled_by_gradient_mul():
    full, tenth = stage2_grad_of_init_out(1.0), stage2_grad_of_init_out(0.1)
    assert full.abs().sum() > 0
    # forward values do not depend on gradient_mul; the refine residual uses detach(init)
    torch.testing.assert_close(tenth, 0.1 * full, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("task,pose_box", [("bbox", "obj"), ("segm", "obj"), ("pose", "obj"), ("pose", "kps")])
def test_loss_is_finite_and_trains_every_parameter(task, pose_box):
    model = tiny(task, pose_box).train()
    n = {"bbox": 4, "segm": 36, "pose": 17}[task]
    g = torch.Generator().manual_seed(0)
    targets = []
    for _ in range(2):
        boxes = torch.tensor([[10.0, 12.0, 60.0, 50.0], [30.0, 5.0, 44.0, 30.0]])
        marks = boxes[:, None, :2] + torch.rand(2, n, 2, generator=g) * (boxes[:, None, 2:] - boxes[:, None, :2])
        vis = torch.ones(2, n)
        vis[1, :5] = 0
        targets.append(dict(boxes=boxes, labels=torch.tensor([0, 2]), landmarks=marks, visible=vis,
                            centres=(boxes[:, :2] + boxes[:, 2:]) / 2, image_hw=(64, 64)))
    losses = model.criterion()(model(torch.randn(2, 3, 64, 64, generator=g)), targets)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    no_grad = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []
