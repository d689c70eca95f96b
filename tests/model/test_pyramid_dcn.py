"""Pyramid DCN (docs/lsnet-official.md §2.5) against a naive loop over the official CUDA kernel's rule."""
import math

import numpy as np
import pytest
import torch
from torchvision.ops import deform_conv2d

from lsnet.model.config import ModelConfig
from lsnet.model.head import LSHead
from lsnet.model.pyramid_dcn import pyramid_deform_conv, pyramid_levels


def bilinear_mmcv(img: np.ndarray, y: float, x: float) -> float:
    """mmcv `deformable_im2col_bilinear`: zero outside (−1, H) × (−1, W), corners outside count 0."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    total = 0.0
    for yy, wy in ((y0, 1 - ly), (y0 + 1, ly)):
        for xx, wx in ((x0, 1 - lx), (x0 + 1, lx)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * img[yy, xx]
    return total


def official_kernel(inp: np.ndarray, offset: np.ndarray, weight: np.ndarray, scale_h: float, scale_w: float):
    """`pyramid_deformable_im2col` + GEMM as loops: y = (h − 1 + i)·σ_h + off_y (offsets as the kernel gets them)."""
    b_, c_, hl, wl = inp.shape
    _, _, h_, w_ = offset.shape
    out = np.zeros((b_, weight.shape[0], h_, w_))
    for b in range(b_):
        for h in range(h_):
            for w in range(w_):
                cols = np.zeros((c_, 9))
                for k in range(9):
                    i, j = divmod(k, 3)
                    y = (h - 1 + i) * scale_h + offset[b, 2 * k, h, w]
                    x = (w - 1 + j) * scale_w + offset[b, 2 * k + 1, h, w]
                    for c in range(c_):
                        cols[c, k] = bilinear_mmcv(inp[b, c], y, x)
                out[b, :, h, w] = weight.reshape(weight.shape[0], -1) @ cols.reshape(-1)
    return out


def official_pyramid_calls(feats, offset, weight, base, mode):
    """The official head loop (docs/lsnet-official.md §2.5): `offset[:, 0::2] *= σ_h` in place before every call
    (cumulative); or each call's offsets scaled by its own σ only (exact)."""
    levels = pyramid_levels(base, len(feats))
    hb, wb = feats[base].shape[-2:]
    cumulative = offset.copy()
    outs = []
    for lvl in levels:
        sh, sw = feats[lvl].shape[-2] / hb, feats[lvl].shape[-1] / wb
        if mode == "cumulative":
            cumulative[:, 0::2] *= sh
            cumulative[:, 1::2] *= sw
            off = cumulative
        else:
            off = offset.copy()
            off[:, 0::2] *= sh
            off[:, 1::2] *= sw
        outs.append(official_kernel(feats[lvl], off, weight, sh, sw))
    return outs


def small_head(mode: str) -> LSHead:
    cfg = ModelConfig(num_classes=2, depth=18, fpn_channels=2, head_channels=2, gn_groups=1, stacked_convs=1,
                      pdcn_offsets=mode, strides=(8, 16, 32, 64, 128))
    return LSHead(cfg, 2)


# Feature sizes of P3–P7 for an input of 200×168 (ceil at every stride-2 conv: 25×21 … 2×2).
SIZES = [(25, 21), (13, 11), (7, 6), (4, 3), (2, 2)]


@pytest.mark.parametrize("mode", ["exact", "cumulative"])
@pytest.mark.parametrize("base", [0, 2, 4])
def test_pyramid_dcn_matches_naive_loop_of_official_kernel(mode, base):
    rng = np.random.default_rng(base)
    # shrink the maps so the naive loop stays fast, keeping odd ratios like 13/25
    sizes = [(max(1, h // 3), max(1, w // 3)) for h, w in SIZES]
    feats = [rng.standard_normal((2, 2, h, w)) for h, w in sizes]
    hb, wb = sizes[base]
    # offsets spanning several pixels, so samples also fall outside the maps
    offset = rng.uniform(-3, 3, size=(2, 18, hb, wb))
    weight = rng.standard_normal((3, 2, 3, 3))
    expected = official_pyramid_calls(feats, offset, weight, base, mode)

    head = small_head(mode)
    calls = head._level_offsets(torch.tensor(offset), sizes, base)
    assert [lvl for lvl, _ in calls] == pyramid_levels(base, 5)
    for (lvl, off), want in zip(calls, expected):
        got = pyramid_deform_conv(torch.tensor(feats[lvl]), off, torch.tensor(weight))
        np.testing.assert_allclose(got.numpy(), want, atol=1e-9)


def test_cumulative_and_exact_differ_only_on_the_third_call():
    sizes = [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)]
    offset = torch.randn(1, 18, 8, 8)
    exact = small_head("exact")._level_offsets(offset, sizes, 0)
    cumulative = small_head("cumulative")._level_offsets(offset, sizes, 0)
    assert torch.equal(exact[0][1], cumulative[0][1]) and torch.equal(exact[1][1], cumulative[1][1])
    torch.testing.assert_close(cumulative[2][1], exact[2][1] * 0.5)  # σ of P4 relative to P3


def test_same_level_equals_torchvision_deform_conv2d():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 9, 11, dtype=torch.float64)
    offset = 4 * torch.randn(2, 18, 9, 11, dtype=torch.float64)  # many samples off the map
    weight = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    bias = torch.randn(4, dtype=torch.float64)
    want = deform_conv2d(x, offset, weight, bias, padding=(1, 1))
    torch.testing.assert_close(pyramid_deform_conv(x, offset, weight, bias), want, atol=1e-10, rtol=0)


def test_gradients_reach_features_offsets_and_weight():
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    offset = torch.randn(1, 18, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pyramid_deform_conv, (x, offset, weight), eps=1e-6, atol=1e-5)


def test_pyramid_levels_follow_the_official_order():
    assert [pyramid_levels(lvl, 5) for lvl in range(5)] == [[0, 1, 2], [1, 0, 2], [2, 1, 3], [3, 2, 4], [4, 3, 2]]
