"""Batching pads bottom/right with zeros to a multiple of the pad divisor."""
import torch

from lsnet.data.collate import collate


def test_collate_pads_bottom_right_to_the_divisor_and_records_unpadded_sizes():
    a, b = torch.ones(3, 50, 70), torch.full((3, 64, 33), 2.0)
    images, targets = collate([(a, {"image_id": 1}), (b, {"image_id": 2})])
    assert images.shape == (2, 3, 64, 96) and images.dtype == torch.float32
    assert torch.equal(images[0, :, :50, :70], a) and images[0, :, 50:].abs().sum() == 0
    assert images[0, :, :, 70:].abs().sum() == 0
    assert torch.equal(images[1, :, :, :33], b) and images[1, :, :, 33:].abs().sum() == 0
    assert [t["image_hw"] for t in targets] == [(50, 70), (64, 33)]
    assert [t["image_id"] for t in targets] == [1, 2]
    assert collate([(a, {})], pad_divisor=128)[0].shape == (1, 3, 128, 128)
