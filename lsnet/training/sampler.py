"""Global batches, split between processes, in an order fixed by (seed, epoch).

Every process draws the same permutation and takes its contiguous share of each global
batch, so N processes see exactly the images one process would, batch by batch; and a
resumed run skips the batches it already did, so it continues the same sequence.
"""
from __future__ import annotations

import torch
from torch.utils.data import Sampler


class GlobalBatchSampler(Sampler[list[int]]):
    def __init__(self, num_items: int, global_batch: int, rank: int = 0, world: int = 1, seed: int = 0,
                 shuffle: bool = True):
        if global_batch % world:
            raise ValueError(f"batch {global_batch} is not divisible by the number of processes {world}")
        self.num_items, self.global_batch = num_items, global_batch
        self.rank, self.world, self.seed, self.shuffle = rank, world, seed, shuffle
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        self.epoch, self.skip = epoch, skip_batches

    def batches_per_epoch(self) -> int:
        return self.num_items // self.global_batch  # incomplete last batch dropped

    def __len__(self) -> int:
        return self.batches_per_epoch() - self.skip

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self.num_items, generator=torch.Generator().manual_seed(self.seed * 100003 + self.epoch))
        else:
            order = torch.arange(self.num_items)
        share = self.global_batch // self.world
        for b in range(self.skip, self.batches_per_epoch()):
            start = b * self.global_batch + self.rank * share
            yield order[start:start + share].tolist()
