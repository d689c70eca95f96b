"""Four-component ("cross-coordinate") landmark vectors (docs/lsnet-official.md §2.2, §3.1).

A vector from the anchor point to a landmark is stored as four non-negative components
[t, b, l, r]: upward, downward, leftward, rightward magnitude, in units of the level stride.
Layouts: `[..., 4]` per vector; feature maps hold V vectors as 4·V channels in that order.
"""
from __future__ import annotations

import torch
from torch import Tensor


def decode(tblr: Tensor) -> Tensor:
    """[..., 4] components → [..., 2] signed (dx, dy).

    The larger slot of each pair wins, with its sign; on an exact tie the first slot (t, l)
    wins and the value is negative, as the official max/argmax does.
    """
    t, b, l, r = tblr.unbind(-1)
    dy = torch.where(b > t, b, -t)
    dx = torch.where(r > l, r, -l)
    return torch.stack((dx, dy), dim=-1)


def encode(dxdy: Tensor) -> Tensor:
    """[..., 2] signed (dx, dy) → [..., 4] target components; the opposite slot is 0.

    At exactly 0 the positive slot (b, r) holds the 0 (docs/lsnet-official.md §3.1 step 2).
    """
    dx, dy = dxdy.unbind(-1)
    zero = torch.zeros_like(dx)
    t = torch.where(dy < 0, -dy, zero)
    b = torch.where(dy >= 0, dy, zero)
    l = torch.where(dx < 0, -dx, zero)
    r = torch.where(dx >= 0, dx, zero)
    return torch.stack((t, b, l, r), dim=-1)


def soften(target: Tensor, alpha: float) -> Tensor:
    """Softened target (paper Appendix A): each zero slot becomes α × its partner's value."""
    t, b, l, r = target.unbind(-1)
    t, b = torch.where(t == 0, alpha * b, t), torch.where(b == 0, alpha * t, b)
    l, r = torch.where(l == 0, alpha * r, l), torch.where(r == 0, alpha * l, r)
    return torch.stack((t, b, l, r), dim=-1)


def as_vectors(feature_map: Tensor) -> Tensor:
    """[B, 4·V, H, W] map → [B, H, W, V, 4] per-location vectors."""
    b, c, h, w = feature_map.shape
    return feature_map.permute(0, 2, 3, 1).reshape(b, h, w, c // 4, 4)
