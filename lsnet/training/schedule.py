"""Learning rate as a pure function of the iteration: linear warmup, then step decay (docs/lsnet-official.md §7).
A function of the iteration alone, so a resumed run continues on exactly the same curve."""
from __future__ import annotations


def lr_at(iteration: int, base_lr: float, warmup_iters: int, warmup_ratio: float, step_iters: list[int],
          gamma: float = 0.1) -> float:
    lr = base_lr * gamma ** sum(iteration >= s for s in step_iters)
    if iteration < warmup_iters:  # mmcv's linear warmup: from ratio·lr up to lr
        lr *= 1 - (1 - iteration / warmup_iters) * (1 - warmup_ratio)
    return lr
