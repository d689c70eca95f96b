"""The head's tower layers (docs/lsnet-official.md §2.1): DCNv2 + GroupNorm + ReLU, or a plain conv + GN + ReLU."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.ops import deform_conv2d


class ModulatedDeformConv2d(nn.Module):
    """3×3 DCNv2 that predicts its own offsets and mask (mmcv `ModulatedDeformConvPack`).

    `conv_offset` gives 27 channels: 18 (y, x)-interleaved tap offsets in row-major tap order,
    then 9 mask logits — the layout torchvision's `deform_conv2d` reads, so it is a direct call.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.conv_offset = nn.Conv2d(in_channels, 27, 3, padding=1)
        nn.init.normal_(self.weight, std=0.01)
        nn.init.zeros_(self.conv_offset.weight)  # starts as a regular conv (docs/lsnet-official.md §2.7)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_offset(x)
        return deform_conv2d(x, out[:, :18], self.weight, self.bias, padding=(1, 1), mask=out[:, 18:].sigmoid())


class TowerLayer(nn.Module):
    """`DCNConvModule` (dcn: `.conv` + `.bn` — the official names, docs/lsnet-official.md §10) or `ConvModule` (norm: `.conv` + `.gn`)."""

    def __init__(self, in_channels: int, out_channels: int, gn_groups: int, kind: str):
        super().__init__()
        self.kind = kind
        if kind == "dcn":
            self.conv = ModulatedDeformConv2d(in_channels, out_channels)
            self.bn = nn.GroupNorm(gn_groups, out_channels)
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
            nn.init.normal_(self.conv.weight, std=0.01)
            self.gn = nn.GroupNorm(gn_groups, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        norm = self.bn if self.kind == "dcn" else self.gn
        return torch.relu(norm(self.conv(x)))
