"""FPN with GroupNorm on every conv, P3–P5 from C3–C5, P6 from C5, P7 from P6 (docs/lsnet-official.md §1).

torchvision's FeaturePyramidNetwork does the laterals and the nearest top-down path (the same
as mmdet's FPN); the extra levels follow mmdet's `add_extra_convs='on_input'` with GN and no
ReLU between P6 and P7.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import partial

from torch import Tensor, nn
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock
from torchvision.ops.misc import Conv2dNormActivation


class GNExtraLevels(ExtraFPNBlock):
    """P6 = GN(conv3×3/2(C5)), P7 = GN(conv3×3/2(P6))."""

    def __init__(self, c5_channels: int, channels: int, norm):
        super().__init__()
        self.p6 = Conv2dNormActivation(c5_channels, channels, 3, stride=2, norm_layer=norm, activation_layer=None)
        self.p7 = Conv2dNormActivation(channels, channels, 3, stride=2, norm_layer=norm, activation_layer=None)

    def forward(self, results: list[Tensor], x: list[Tensor], names: list[str]):
        p6 = self.p6(x[-1])
        return results + [p6, self.p7(p6)], names + ["p6", "p7"]


class LSNetFPN(nn.Module):
    def __init__(self, in_channels: list[int], channels: int, gn_groups: int):
        super().__init__()
        norm = partial(nn.GroupNorm, gn_groups)
        self.fpn = FeaturePyramidNetwork(in_channels, channels, GNExtraLevels(in_channels[-1], channels, norm),
                                         norm_layer=norm)
        # Xavier-uniform convs, GN weight 1 / bias 0 (docs/lsnet-official.md §2.7).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, feats: list[Tensor]) -> list[Tensor]:
        return list(self.fpn(OrderedDict((f"c{i + 3}", f) for i, f in enumerate(feats))).values())
