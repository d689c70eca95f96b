"""`lsnet.model.dcn.ModulatedDeformConv2d` (docs/lsnet-official.md §1, §2.1) against mmcv's DCNv2
computed by hand: `ModulatedDeformConvPack` splits its `conv_offset` output into (o1, o2, mask),
uses cat(o1, o2) as the offsets — channel 2k the y and 2k+1 the x offset of tap k (row-major) —
and sigmoid(mask) as the mask; each tap samples bilinearly, zero outside the map."""
import math

import pytest
import torch

from lsnet.model.dcn import ModulatedDeformConv2d


def bilinear(image: torch.Tensor, y: float, x: float) -> float:
    """mmcv's rule: 0 unless −1 < y < H and −1 < x < W; corners outside the map count 0."""
    h, w = image.shape
    if not (-1 < y < h and -1 < x < w):
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    total = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * float(image[yy, xx])
    return total


def mmcv_dcnv2_by_hand(x, conv_offset_out, weight, bias, stride: int) -> torch.Tensor:
    o1, o2, mask = torch.chunk(conv_offset_out, 3, dim=1)  # as ModulatedDeformConvPack.forward
    offset, mask = torch.cat((o1, o2), dim=1)[0], torch.sigmoid(mask)[0]
    out_channels, group_in = weight.shape[:2]
    group_out = out_channels // (x.shape[1] // group_in)
    out = torch.zeros(out_channels, *offset.shape[1:], dtype=torch.float64)
    for o in range(out_channels):
        first = (o // group_out) * group_in  # the input channels of o's group
        for i in range(offset.shape[1]):
            for j in range(offset.shape[2]):
                value = float(bias[o]) if bias is not None else 0.0
                for k in range(9):
                    y = i * stride - 1 + k // 3 + float(offset[2 * k, i, j])  # padding 1
                    xx = j * stride - 1 + k % 3 + float(offset[2 * k + 1, i, j])
                    for c in range(group_in):
                        value += float(weight[o, c, k // 3, k % 3]) * float(mask[k, i, j]) * bilinear(
                            x[0, first + c], y, xx)
                out[o, i, j] = value
    return out


@pytest.mark.parametrize("stride, groups, bias", [(1, 1, True), (2, 2, False)])  # a tower layer; a backbone conv2
def test_dcnv2_equals_mmcvs_computed_by_hand(stride, groups, bias):
    g = torch.Generator().manual_seed(0)
    dcn = ModulatedDeformConv2d(4, 4, stride=stride, groups=groups, bias=bias)
    with torch.no_grad():  # offsets of about ±1.5 px varying over the map, masks away from ½
        dcn.conv_offset.weight.copy_(0.3 * torch.randn(dcn.conv_offset.weight.shape, generator=g))
        dcn.conv_offset.bias.copy_(torch.randn(27, generator=g))
        dcn.weight.copy_(torch.randn(dcn.weight.shape, generator=g))
        if bias:
            dcn.bias.copy_(torch.randn(4, generator=g))
    x = torch.randn(1, 4, 5, 6, generator=g)
    with torch.no_grad():
        offsets = dcn.conv_offset(x)
        assert offsets[:, :18].abs().max() > 1 and offsets[:, :18].std() > 0.5  # really deformed, not the grid
        expected = mmcv_dcnv2_by_hand(x, offsets, dcn.weight, dcn.bias, stride)
        actual = dcn(x)[0]
    assert actual.shape == expected.shape == (4, (5 - 1) // stride + 1, (6 - 1) // stride + 1)
    torch.testing.assert_close(actual.double(), expected, atol=1e-5, rtol=1e-5)


def test_from_conv_keeps_the_weight_and_gives_half_the_conv_until_trained():
    """mmdet zero-initialises the backbone's `conv_offset`: the regular grid with mask σ(0) = ½."""
    conv = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=4, bias=False)
    dcn = ModulatedDeformConv2d.from_conv(conv)
    assert torch.equal(dcn.weight, conv.weight) and dcn.bias is None
    assert not dcn.conv_offset.weight.any() and not dcn.conv_offset.bias.any()
    x = torch.randn(2, 8, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(dcn(x), 0.5 * conv(x), atol=1e-6, rtol=1e-5)
