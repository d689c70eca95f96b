"""CPU twin of LSNetPyramidDCN (trt_plugins/pyramid_dcn) against torchvision and PyTorch references.

The twin runs the CUDA kernel's own sampling, column and tile functions, so these tests pin the
plugin math (docs/lsnet-official.md §2.5) without a GPU.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

from lsnet.model.pyramid_dcn import pyramid_deform_conv

BATCH, CHANNELS, OUT_CHANNELS = 2, 6, 10


def random_call(level_hw, base_hw, offset_scale=2.0, seed=0):
    """input on level l, offsets (base-level pixels) and weight/bias; float32 tensors."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, CHANNELS, *level_hw, generator=g)
    offset = torch.randn(BATCH, 18, *base_hw, generator=g) * offset_scale
    weight = torch.randn(OUT_CHANNELS, CHANNELS, 3, 3, generator=g)
    bias = torch.randn(OUT_CHANNELS, generator=g)
    return x, offset, weight, bias


def official_kernel_reference(x, kernel_offset, weight, bias):
    """The official `pyramid_deformable_im2col` rule in float64: y = (h − 1 + i)·σ_h + off_y, with the
    offsets as the official head hands them to the kernel; sampled with grid_sample, then contracted."""
    x, kernel_offset, weight, bias = (t.double() for t in (x, kernel_offset, weight, bias))
    b, c, hl, wl = x.shape
    h, w = kernel_offset.shape[-2:]
    taps = torch.tensor([(i - 1, j - 1) for i in range(3) for j in range(3)], dtype=torch.float64)
    off = kernel_offset.reshape(b, 9, 2, h, w)
    ys = (torch.arange(h, dtype=torch.float64).view(1, 1, h, 1) + taps[:, 0].view(1, 9, 1, 1)) * (hl / h) + off[:, :, 0]
    xs = (torch.arange(w, dtype=torch.float64).view(1, 1, 1, w) + taps[:, 1].view(1, 9, 1, 1)) * (wl / w) + off[:, :, 1]
    # Pixel coordinates → align_corners=False normalisation (the mmcv rule, exact for every size).
    grid = torch.stack(((2 * xs + 1) / wl - 1, (2 * ys + 1) / hl - 1), dim=-1).reshape(b, 9 * h, w, 2)
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    columns = sampled.reshape(b, c, 9, h, w)
    return torch.einsum("bckhw,ock->bohw", columns, weight.reshape(weight.shape[0], c, 9)) + bias.view(1, -1, 1, 1)


def scale_offsets(offset, scale_hw):
    """Offsets × (σ_h on the y channels, σ_w on the x channels)."""
    factors = torch.tensor(scale_hw, dtype=offset.dtype).repeat(9).view(1, 18, 1, 1)
    return offset * factors


def run(twins, x, offset, weight, bias=None):
    arrays = [t.numpy() for t in (x, offset, weight)]
    return twins.pyramid_dcn(*arrays, None if bias is None else bias.numpy())


def test_same_level_equals_torchvision_deform_conv2d(twins):
    x, offset, weight, bias = random_call((9, 11), (9, 11), offset_scale=4.0)  # many taps land outside
    expected = deform_conv2d(x, offset, weight, bias, padding=1).numpy()
    np.testing.assert_allclose(run(twins, x, offset, weight, bias), expected, rtol=0, atol=1e-5)


def test_same_level_without_bias_equals_torchvision(twins):
    x, offset, weight, _ = random_call((7, 5), (7, 5), seed=1)
    expected = deform_conv2d(x, offset, weight, padding=1).numpy()
    np.testing.assert_allclose(run(twins, x, offset, weight), expected, rtol=0, atol=1e-5)


def test_taps_pushed_outside_the_map_contribute_zero(twins):
    x, offset, weight, bias = random_call((6, 6), (6, 6))
    far = torch.full_like(offset, 50.0)  # every sample lands below/right of the map
    out = run(twins, x, far, weight, bias)
    np.testing.assert_array_equal(out, np.broadcast_to(bias.numpy().reshape(1, -1, 1, 1), out.shape))


# Float32 sample coordinates round by ~1e-6 px; times the map's slope, summed over 9·C taps,
# that is ~1e-5 on outputs of magnitude ~10, hence the tolerance against the float64 references.
LEVEL_TOLERANCE = 1e-4


@pytest.mark.parametrize("level_hw, base_hw", [
    ((18, 22), (9, 11)),  # finer level: Hl = 2H
    ((5, 6), (9, 11)),  # coarser level ≈ H/2
    ((13, 13), (25, 25)),  # odd sizes: σ = 13/25
    ((1, 1), (4, 3)),  # a 1×1 map
], ids=["finer", "coarser", "odd-13-vs-25", "one-by-one"])
def test_other_level_exact_offsets_match_grid_sample_reference(twins, level_hw, base_hw):
    """Exact mode: offsets o in base pixels; the official kernel sees σ·o (its call 2)."""
    x, offset, weight, bias = random_call(level_hw, base_hw, seed=2)
    sigma = (level_hw[0] / base_hw[0], level_hw[1] / base_hw[1])
    out = run(twins, x, offset, weight, bias)
    np.testing.assert_allclose(out, official_kernel_reference(x, scale_offsets(offset, sigma), weight, bias).numpy(),
                               rtol=0, atol=LEVEL_TOLERANCE)
    # … and the PyTorch module the ONNX export is built from.
    model = pyramid_deform_conv(x.double(), offset.double(), weight.double(), bias.double()).numpy()
    np.testing.assert_allclose(out, model, rtol=0, atol=LEVEL_TOLERANCE)


@pytest.mark.parametrize("previous_hw, level_hw, base_hw", [
    ((18, 22), (5, 6), (9, 11)),  # P4–P6 base: finer, then coarser
    ((5, 5), (3, 3), (9, 9)),  # P3 base: P4, then P5
    ((13, 19), (25, 38), (7, 10)),  # P7 base: P6, then P5 (σ₃·σ₂ ≈ 6.6)
], ids=["middle", "p3-base", "p7-base"])
def test_third_level_cumulative_offsets_match_official_in_place_scaling(twins, previous_hw, level_hw, base_hw):
    """Cumulative mode (docs/lsnet-official.md §2.5): the graph feeds o·σ_prev; the official kernel saw σ_prev·σ·o."""
    x, offset, weight, bias = random_call(level_hw, base_hw, offset_scale=1.0, seed=3)
    sigma_prev = (previous_hw[0] / base_hw[0], previous_hw[1] / base_hw[1])
    sigma = (level_hw[0] / base_hw[0], level_hw[1] / base_hw[1])
    fed = scale_offsets(offset, sigma_prev)
    official = official_kernel_reference(x, scale_offsets(scale_offsets(offset, sigma_prev), sigma), weight, bias)
    np.testing.assert_allclose(run(twins, x, fed, weight, bias), official.numpy(), rtol=0, atol=LEVEL_TOLERANCE)


def test_float16_arrays_run_the_half_storage_path(twins):
    """FP16 storage with FP32 math: equals the float64 reference on the half-rounded inputs, up to the
    output's own rounding to half."""
    x, offset, weight, bias = (t.half() for t in random_call((5, 6), (9, 11), seed=4))
    out = twins.pyramid_dcn(x.numpy(), offset.numpy(), weight.numpy(), bias.numpy())
    assert out.dtype == np.float16
    sigma = (5 / 9, 6 / 11)
    expected = official_kernel_reference(x.float(), scale_offsets(offset.float(), sigma), weight.float(), bias.float())
    expected = expected.numpy()
    half_rounding = np.abs(expected) * 2.0 ** -11
    assert np.all(np.abs(out.astype(np.float64) - expected) <= half_rounding + LEVEL_TOLERANCE)


def test_round_to_half_is_numpys_float16_conversion(twins):
    every_half = np.arange(2 ** 16, dtype=np.uint16).view(np.float16)
    with np.errstate(invalid="ignore"):  # the NaN patterns
        every_half_as_float = every_half.astype(np.float32)
    finite = every_half[np.isfinite(every_half)].astype(np.float64)
    positive = np.unique(finite[finite >= 0])
    midpoints = (positive[:-1] + positive[1:]) / 2  # exact ties → round to even
    rng = np.random.default_rng(0)
    samples = np.concatenate([
        every_half_as_float,
        midpoints.astype(np.float32), -midpoints.astype(np.float32),
        (rng.standard_normal(100_000) * 10.0 ** rng.uniform(-9, 5, 100_000)).astype(np.float32),
        np.array([65504, 65519.99, 65520, 1e9, -1e9, 2 ** -25, 2 ** -24 * 1.5, np.inf, -np.inf], np.float32),
    ])
    ours = twins.round_to_half(samples)
    with np.errstate(over="ignore", invalid="ignore"):
        numpys = samples.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(numpys))
    np.testing.assert_array_equal(ours[~np.isnan(numpys)], numpys[~np.isnan(numpys)])
