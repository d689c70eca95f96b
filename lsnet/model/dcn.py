"""DCNv2, the head's tower layers (docs/lsnet-official.md §2.1) and the backbone's DCN stages (§1):
one modulated deformable conv; a tower layer is DCNv2 + GroupNorm + ReLU, or a plain conv + GN + ReLU."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.ops import deform_conv2d


class ModulatedDeformConv2d(nn.Module):
    """3×3 DCNv2 that predicts its own offsets and mask (mmcv `ModulatedDeformConvPack`, one
    deformable group; padding 1, `stride` on both the conv and its `conv_offset`, as mmcv has it).

    `conv_offset` gives 27 channels: 18 (y, x)-interleaved tap offsets in row-major tap order,
    then 9 mask logits. mmcv splits them as (o1, o2, mask) and concatenates o1, o2 back into the
    same 18 channels, which are the layout torchvision's `deform_conv2d` reads: a direct call.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 1, bias: bool = True):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, 3, 3))
        self.register_parameter("bias", nn.Parameter(torch.zeros(out_channels)) if bias else None)
        self.conv_offset = nn.Conv2d(in_channels, 27, 3, stride=stride, padding=1)
        nn.init.normal_(self.weight, std=0.01)
        # zero: the regular grid, mask ½ everywhere (a regular conv at half scale, docs/lsnet-official.md §2.7)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> "ModulatedDeformConv2d":
        """The DCNv2 in place of a 3×3 conv (padding 1, no dilation): the same weight (name and value)
        and a zero `conv_offset`, as mmdet initialises its DCN backbones: it samples the regular grid
        with mask σ(0) = ½, i.e. gives half the conv's output, until the offsets and mask are trained."""
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.dilation != (1, 1) or \
                conv.stride[0] != conv.stride[1]:
            raise ValueError(f"not a 3×3, padding-1 conv: {conv}")
        dcn = cls(conv.in_channels, conv.out_channels, conv.stride[0], conv.groups, bias=conv.bias is not None)
        with torch.no_grad():
            dcn.weight.copy_(conv.weight)
            if conv.bias is not None:
                dcn.bias.copy_(conv.bias)
        return dcn

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_offset(x)
        return deform_conv2d(x, out[:, :18], self.weight, self.bias, stride=self.stride, padding=(1, 1),
                             mask=out[:, 18:].sigmoid())


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
