"""Pyramid DCN (paper §3.4, docs/lsnet-official.md §2.5): a 3×3 deformable conv that samples FPN level l at the
landmarks predicted on the grid of a base level L, so one kernel reads adjacent levels.

For output position (h, w) and tap (i, j), k = 3i + j, with offsets o in base-level pixels:

    y = ((h − 1 + i) + o_y[k]) · σ_h,   x = ((w − 1 + j) + o_x[k]) · σ_w,   σ = size_l / size_L

i.e. the base-level point (anchor + vector) scaled onto level l — the same rule as the
official CUDA kernel once its offsets are written as o·σ. Samples are bilinear with zeros
outside the map (the mmcv DCN rule). The official in-place *cumulative* offset scaling is
obtained by feeding the third level `o · σ_previous` (see `LSHead`), so this module, its
ONNX form and the `LSNetPyramidDCN` plugin have one formula.

Built from `grid_sample` + a 1×1 conv (im2col form): exportable to ONNX as GridSample + Conv,
and equal to `torchvision.ops.deform_conv2d` when l = L.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# (dy, dx) of the 9 taps of a 3×3 kernel, row-major.
_TAPS = torch.tensor([(i - 1, j - 1) for i in range(3) for j in range(3)], dtype=torch.float32)


def pyramid_deform_conv(x: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x [B, C, Hl, Wl], offset [B, 18, H, W] ((y, x) per tap), weight [Cout, C, 3, 3] → [B, Cout, H, W]."""
    b, c, hl, wl = x.shape
    h, w = offset.shape[-2:]
    taps = _TAPS.to(dtype=x.dtype, device=x.device)
    off = offset.reshape(b, 9, 2, h, w)
    ys = torch.arange(h, dtype=x.dtype, device=x.device).view(1, 1, h, 1) + taps[:, 0].view(1, 9, 1, 1)
    xs = torch.arange(w, dtype=x.dtype, device=x.device).view(1, 1, 1, w) + taps[:, 1].view(1, 9, 1, 1)
    # Level-l pixel coordinates → grid_sample's align_corners=False normalisation, which is
    # exact for every size, including 1×1 maps.
    gy = ((ys + off[:, :, 0]) * (hl / h) * 2 + 1) / hl - 1
    gx = ((xs + off[:, :, 1]) * (wl / w) * 2 + 1) / wl - 1
    grid = torch.stack((gx, gy), dim=-1).reshape(b, 9 * h, w, 2)
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    columns = sampled.reshape(b, c * 9, h, w)  # channel c·9 + k, the order of weight.flatten(1)
    return F.conv2d(columns, weight.reshape(weight.shape[0], c * 9, 1, 1), bias)


class PyramidDeformConv(nn.Module):
    """DCNv1 weight without bias (official `PyramidDeformConv`); `forward(level_features, base_offsets)`."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")  # docs/lsnet-official.md §2.7

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        return pyramid_deform_conv(x, offset, self.weight)


def pyramid_levels(base: int, num_levels: int) -> list[int]:
    """Levels sampled for base level L, in order (docs/lsnet-official.md §2.5): [0,1,2], [L, L−1, L+1], [4,3,2]."""
    if base == 0:
        return [0, 1, 2]
    if base == num_levels - 1:
        return [base, base - 1, base - 2]
    return [base, base - 1, base + 1]


def level_scale(level_hw: tuple, base_hw: tuple) -> tuple:
    """σ = (H_l / H_L, W_l / W_L) from integer feature sizes, as the official code computes it."""
    return level_hw[0] / base_hw[0], level_hw[1] / base_hw[1]
