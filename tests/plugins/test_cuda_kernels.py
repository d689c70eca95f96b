"""The plugins' CUDA kernels on a GPU, without TensorRT (`lsnet_cuda` through `lsnet.cuda_kernels`),
against torchvision and the PyTorch reference on CUDA, FP32 and FP16, at the committed models' sizes
(64 channels, 192×192) and at R-50 head sizes (256 channels, P3–P7 of an 800×1344 image).
This is what verifies the kernels on a GPU machine; each test skips with the reason elsewhere."""
import os
import shutil

import numpy as np
import pytest
import torch
from decode_scenes import realistic_levels

from lsnet.errors import LSNetError
from lsnet.model.decode import LevelOutputs, decode
from lsnet.model.pyramid_dcn import pyramid_deform_conv, pyramid_levels

pytestmark = pytest.mark.gpu

DEVICE = "cuda"
STRIDES = [8, 16, 32, 64, 128]
# (channels, level sizes of P3–P7) of the committed models (192×192) and of an R-50 head on 800×1344.
SIZES = {
    "committed": (64, [(24, 24), (12, 12), (6, 6), (3, 3), (2, 2)]),
    "r50-800x1344": (256, [(100, 168), (50, 84), (25, 42), (13, 21), (7, 11)]),
}
FP32_TOLERANCE = 1e-4  # float32 sample coordinates and sums against a float64 reference, outputs ~1
FP16_TOLERANCE = 1e-3  # beyond the output's own rounding to half


@pytest.fixture(scope="module")
def kernels():
    """lsnet.cuda_kernels with a usable GPU; a skip naming what is missing (a failure under
    scripts/test.sh where nvcc built the module but it is missing)."""
    if not torch.cuda.is_available():
        pytest.skip(f"needs a CUDA GPU: torch {torch.__version__} (CUDA build {torch.version.cuda}) sees none")
    from lsnet import cuda_kernels
    from lsnet.plugins import load_cuda_kernels

    try:
        load_cuda_kernels()
    except LSNetError as e:
        if os.environ.get("LSNET_REQUIRE_TWINS") == "1" and shutil.which("nvcc"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    return cuda_kernels


def random_call(channels, level_hw, base_hw, seed, batch=1):
    """Input on level l, offsets (base-level pixels, ~±4 px, some taps outside), weight scaled for outputs ~1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, *level_hw, generator=g)
    offset = torch.randn(batch, 18, *base_hw, generator=g) * 2.0
    weight = torch.randn(channels, channels, 3, 3, generator=g) / (9 * channels) ** 0.5
    bias = torch.randn(channels, generator=g)
    return [t.to(DEVICE) for t in (x, offset, weight, bias)]


def assert_close_to(out, expected):
    """Within the tolerance of the float64 reference, plus the output's rounding where it is FP16."""
    half = out.dtype == torch.float16
    out, expected = out.double(), expected.double()
    rounding = expected.abs() * 2.0 ** -11 if half else 0.0
    excess = ((out - expected).abs() - rounding - (FP16_TOLERANCE if half else FP32_TOLERANCE)).max().item()
    assert excess <= 0, f"max error exceeds the tolerance by {excess:.3g}"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("level", [0, 2], ids=["P3", "P5"])
def test_same_level_fp32_equals_torchvision_deform_conv2d(kernels, size, level):
    from torchvision.ops import deform_conv2d

    channels, levels = SIZES[size]
    x, offset, weight, bias = random_call(channels, levels[level], levels[level], seed=level)
    expected = deform_conv2d(x.double(), offset.double(), weight.double(), bias.double(), padding=1)
    assert_close_to(kernels.pyramid_dcn(x, offset, weight, bias), expected)


def pyramid_calls(levels):
    """Every (sampled level, base level) pair the head makes (docs/lsnet-official.md §2.5)."""
    return [(lvl, base) for base in range(len(levels)) for lvl in pyramid_levels(base, len(levels))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=["fp32", "fp16"])
@pytest.mark.parametrize("size", SIZES)
def test_every_pyramid_call_equals_the_pytorch_pyramid_dcn(kernels, size, dtype):
    """Each level sampled on each base grid, as in the head; FP16 against the float64 reference of the
    half-rounded inputs (FP16 storage, FP32 math)."""
    channels, levels = SIZES[size]
    for seed, (lvl, base) in enumerate(pyramid_calls(levels)):
        tensors = [t.to(dtype) for t in random_call(channels, levels[lvl], levels[base], seed)]
        expected = pyramid_deform_conv(*(t.double() for t in tensors))
        out = kernels.pyramid_dcn(*tensors)
        assert out.dtype == dtype
        assert_close_to(out, expected)


def reference_decode(levels, num_landmarks, box_source, level_sizes, **options):
    from lsnet.description import BOX_SOURCES

    canvas = (level_sizes[0][0] * STRIDES[0], level_sizes[0][1] * STRIDES[0])
    return decode(levels, STRIDES, canvas, num_landmarks=num_landmarks, box_source=BOX_SOURCES[box_source],
                  pre_nms_top_k=options["pre_nms_top_k"], score_threshold=options["score_threshold"],
                  nms_iou_threshold=options["iou_threshold"], max_detections=options["max_detections"])


def on_cuda(levels, dtype=torch.float32):
    return [LevelOutputs(*(None if t is None else t.to(DEVICE, dtype) for t in
                           (lv.cls_logits, lv.landmark_vectors, lv.box_vectors))) for lv in levels]


def assert_same_detections(ours, ref):
    """Same count, same kept (class, box) sequence in the same order (as the CPU twin's tests)."""
    ours, ref = ({k: v.cpu().numpy() for k, v in d.items()} for d in (ours, ref))
    np.testing.assert_array_equal(ours["num_dets"], ref["num_dets"])
    np.testing.assert_array_equal(ours["labels"], ref["labels"])
    np.testing.assert_allclose(ours["boxes"], ref["boxes"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(ours["scores"], ref["scores"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["landmarks"], ref["landmarks"], rtol=0, atol=1e-3)


DECODE_CASES = [  # (size, classes, num_landmarks, box_source)
    ("committed", 5, 4, 0), ("committed", 5, 36, 1), ("committed", 1, 17, 2), ("r50-800x1344", 80, 4, 0),
]


@pytest.mark.parametrize("size, classes, num_landmarks, box_source", DECODE_CASES,
                         ids=["bbox", "segm", "pose", "r50-bbox-80-classes"])
def test_fp32_decode_equals_the_pytorch_decode_with_batched_nms(kernels, size, classes, num_landmarks, box_source):
    level_sizes = SIZES[size][1]
    levels = on_cuda(realistic_levels(num_landmarks, box_source == 2, level_sizes=level_sizes, classes=classes,
                                      objects=20))
    options = dict(pre_nms_top_k=1000, score_threshold=0.05, iou_threshold=0.6, max_detections=100)
    ref = reference_decode(levels, num_landmarks, box_source, level_sizes, **options)
    assert (ref["num_dets"] > 0).all()
    ours = kernels.decode(levels, STRIDES, num_landmarks=num_landmarks, box_source=box_source, **options)
    torch.cuda.synchronize()
    assert_same_detections(ours, ref)


@pytest.mark.parametrize("size", SIZES)
def test_fp16_maps_decode_exactly_like_fp32_maps_of_the_same_values(kernels, size):
    """FP16 storage, FP32 math (against the reference directly, half maps have exact score ties,
    whose order torch leaves open)."""
    level_sizes = SIZES[size][1]
    levels = realistic_levels(17, True, seed=1, level_sizes=level_sizes)
    args = dict(num_landmarks=17, box_source=2)
    from_half = kernels.decode(on_cuda(levels, torch.float16), STRIDES, **args)
    from_float = kernels.decode(on_cuda(on_cuda(levels, torch.float16)), STRIDES, **args)
    torch.cuda.synchronize()
    for name in from_float:
        torch.testing.assert_close(from_half[name], from_float[name], rtol=0, atol=0, msg=name)
