"""The training loss as the official code computes it: normalisers (docs/lsnet-official.md §3.4) and the
centre-vector target of the bbox task (§4.3, §5.1), against hand-worked expectations."""
import pytest
import torch

from lsnet.model.config import ModelConfig
from lsnet.model.criterion import branch_points
from lsnet.model.head import HeadOutputs, branches_for
from lsnet.model.lsnet import LSNet


def _tiny_bbox() -> LSNet:
    torch.manual_seed(0)
    return LSNet(ModelConfig(task="bbox", num_classes=3, depth=10, fpn_channels=16, head_channels=16, gn_groups=4,
                             stacked_convs=1, frozen_stages=-1, norm_eval=False)).eval()


def _target(boxes: list, labels: list) -> dict:
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    x1, y1, x2, y2 = boxes.unbind(1)
    extremes = torch.stack([torch.stack(p, 1) for p in (((x1 + x2) / 2, y1), (x1, (y1 + y2) / 2),
                                                        ((x1 + x2) / 2, y2), (x2, (y1 + y2) / 2))], 1)
    return dict(boxes=boxes, labels=torch.tensor(labels, dtype=torch.long), landmarks=extremes,
                visible=torch.ones(len(boxes), 4), centres=(boxes[:, :2] + boxes[:, 2:]) / 2, image_hw=(64, 64))


def _image(out: HeadOutputs, b: int) -> HeadOutputs:
    """The outputs of image `b` of a batch, as a batch of one."""
    def one(maps):
        return [m[b:b + 1] for m in maps]
    return HeadOutputs(one(out.cls_logits), {k: one(v) for k, v in out.init_vectors.items()},
                       {k: one(v) for k, v in out.refined_vectors.items()})


def test_each_image_counts_at_least_one_positive_in_both_stage_normalisers():
    # Official: avg_factor = Σ over images of max(positives in the image, 1) (lsnet_head.get_targets);
    # an image without stage-2 positives adds 1, where max(Σ positives, 1) would add nothing.
    model = _tiny_bbox()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)))
    with_objects, without = _target([[8, 10, 40, 44], [30, 20, 60, 50]], [0, 2]), _target([], [])
    criterion = model.criterion()
    batch = criterion(out, [with_objects, without])
    n = criterion.positives
    k, k1 = n["refine"][0], n["init"][0]
    assert k >= 1 and n["refine"][1] == 0 and k1 == 2 and n["init"][1] == 0
    alone = criterion(_image(out, 0), [with_objects])  # normalised by k (stage 2) and k1 (stage 1)
    empty = criterion(_image(out, 1), [without])  # normalised by 1: only negatives in its focal loss
    torch.testing.assert_close(batch["loss_bbox_refine"], alone["loss_bbox_refine"] * k / (k + 1))
    torch.testing.assert_close(batch["loss_bbox_init"], alone["loss_bbox_init"] * k1 / (k1 + 1))
    torch.testing.assert_close(batch["loss_cls"], (alone["loss_cls"] * k + empty["loss_cls"]) / (k + 1))


@pytest.mark.parametrize("task,pose_box", [("bbox", "obj"), ("pose", "obj")])
def test_centre_target_of_a_box_half_outside_the_image(task, pose_box):
    # A 64-px-wide image; the annotation box spans x −40 … 40, so the clipped box is 0 … 40.
    # bbox task: the centre of the annotation box (0, 25), clipped → (0, 25), as the official
    # `extreme_points` carry it; not the clipped box's centre (20, 25). pose obj-box: the official
    # `get_border_center` takes the clipped gt box, centre (20, 25).
    clipped = torch.tensor([[0.0, 10.0, 40.0, 40.0]])
    n = 4 if task == "bbox" else 17
    target = dict(boxes=clipped, landmarks=torch.full((1, n, 2), 5.0), visible=torch.ones(1, n),
                  centres=torch.tensor([[0.0, 25.0]]))
    expected = {"bbox": [0.0, 25.0], "pose": [20.0, 25.0]}[task]
    for branch in branches_for(task, pose_box):
        assert branch_points(branch, target, clipped)[0, -1].tolist() == expected
