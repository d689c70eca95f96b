"""Batching: images padded bottom/right with zeros to one size (docs/lsnet-official.md §1: pad to a multiple of 32)."""
from __future__ import annotations

import torch

from lsnet.runtime.preprocess import round_up


def collate(batch: list[tuple[torch.Tensor, dict]], pad_divisor: int = 32) -> tuple[torch.Tensor, list[dict]]:
    """(images [B, 3, Hp, Wp] float32, targets); each target gains `image_hw`, its unpadded (h, w).

    Hp, Wp are the largest h, w in the batch rounded up to `pad_divisor`. Padding with 0 after
    normalisation, as mmdet pads the normalised image.
    """
    height = round_up(max(image.shape[1] for image, _ in batch), pad_divisor)
    width = round_up(max(image.shape[2] for image, _ in batch), pad_divisor)
    images = torch.zeros((len(batch), 3, height, width), dtype=torch.float32)
    targets = []
    for i, (image, target) in enumerate(batch):
        h, w = image.shape[1:]
        images[i, :, :h, :w] = image
        targets.append({**target, "image_hw": (int(h), int(w))})
    return images, targets
