"""torchvision ResNet / ResNeXt as a C3–C5 feature extractor (docs/lsnet-official.md §1).

Parameter names stay torchvision's (conv1, bn1, layer1…4), which are also the official
checkpoint's `backbone.*` names (docs/lsnet-official.md §10). In the stages `dcn_stages` (layer
numbers, [2, 3, 4] = the official 'dconv c3-c5' configs) every block's 3×3 `conv2` is a DCNv2
(mmdet's `dcn=dict(type='DCNv2')`, docs/lsnet-official.md §1): the same `conv2.weight`, plus
`conv2.conv_offset.*`. mmdet has DCNs in bottlenecks only; here a basic block's second 3×3 conv
takes one too, for small models.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from lsnet.errors import LSNetError
from lsnet.model.dcn import ModulatedDeformConv2d

_LAYERS = {10: (BasicBlock, [1, 1, 1, 1]), 18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]), 50: (Bottleneck, [3, 4, 6, 3]),
           101: (Bottleneck, [3, 4, 23, 3]), 152: (Bottleneck, [3, 8, 36, 3])}


class ResNetBackbone(ResNet):
    def __init__(self, depth: int = 50, groups: int = 1, width_per_group: int = 64, frozen_stages: int = 1,
                 norm_eval: bool = True, pretrained: str = "", dcn_stages: tuple[int, ...] = ()):
        block, layers = _LAYERS[depth]
        # Without pretrained weights, each residual block starts as the identity (its last BN
        # scale zero): the usual way to train ResNets from scratch (Goyal et al., 2017).
        super().__init__(block, layers, groups=groups, width_per_group=width_per_group,
                         zero_init_residual=not pretrained)
        del self.fc, self.avgpool
        # After torchvision's init: each DCN keeps its conv's (He) weight; its `conv_offset` starts at zero.
        for stage in dcn_stages:
            for block in getattr(self, f"layer{stage}"):
                block.conv2 = ModulatedDeformConv2d.from_conv(block.conv2)
        self.out_channels = [128 * block.expansion, 256 * block.expansion, 512 * block.expansion]
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        if pretrained:
            self.load_pretrained(pretrained)
        self._freeze_stages()

    def load_pretrained(self, path: str) -> None:
        """A local torchvision ImageNet state dict (no download: these machines are offline)."""
        from lsnet.model.checkpoint import load_torch_file  # weights only: a pickle that would run code is refused

        try:
            state = load_torch_file(path)
        except LSNetError as e:
            raise LSNetError(f"pretrained backbone weights: {e}") from None
        if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
            raise LSNetError(f"pretrained backbone {path} is not a state dict of tensors (torchvision's "
                             "ResNet weights file)")
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = self.load_state_dict(state, strict=False)
        # ImageNet weights have no DCN offsets: they stay zero, so each DCN starts as its pretrained conv
        # at half scale (mask σ(0) = ½), as in mmdet (`ModulatedDeformConv2d.from_conv`).
        missing = [k for k in missing if ".conv2.conv_offset." not in k]
        if missing or unexpected:
            raise LSNetError(f"pretrained backbone {path} does not match depth/groups: "
                             f"{len(missing)} missing, {len(unexpected)} unexpected keys")

    def _freeze_stages(self) -> None:
        frozen = [self.conv1, self.bn1] if self.frozen_stages >= 0 else []
        frozen += [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        for module in frozen:
            module.eval()
            for p in module.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True) -> "ResNetBackbone":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
        return self

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c3, c4, c5]
