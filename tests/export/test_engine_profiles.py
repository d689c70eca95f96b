"""`lsnet.export.engine_profiles`: the min / opt / max shapes an engine is built for."""
import pytest

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.engine_profiles import ShapeProfile, engine_profile, validate_profile

DESCRIPTION = ModelDescription(task="bbox", class_names=["a"], input_size=(512, 640))
DYNAMIC = ["batch", 3, "height", "width"]


def test_a_static_onnx_gives_its_own_shape():
    profile = engine_profile([2, 3, 128, 160], DESCRIPTION)
    assert profile.min == profile.opt == profile.max == (2, 3, 128, 160) and profile.fixed
    assert profile.describe() == "images 2×3×128×160 (static)"


def test_a_dynamic_onnx_built_static_takes_the_options_or_the_description():
    assert engine_profile(DYNAMIC, DESCRIPTION).opt == (1, 3, 512, 640)
    profile = engine_profile(DYNAMIC, DESCRIPTION, batch=4, imgsz=(800, 1216))
    assert profile.min == profile.max == (4, 3, 800, 1216)


def test_dynamic_batch_runs_from_1_to_n_and_sizes_from_two_pad_divisors_to_imgsz():
    profile = engine_profile(DYNAMIC, DESCRIPTION, batch=8, dynamic=True)
    assert profile == ShapeProfile("images", (1, 3, 64, 64), (8, 3, 512, 640), (8, 3, 512, 640))
    assert not profile.fixed
    assert profile.describe() == "images min 1×3×64×64, opt 8×3×512×640, max 8×3×512×640"


def test_dynamic_sizes_follow_min_and_max_imgsz():
    profile = engine_profile(DYNAMIC, DESCRIPTION, dynamic=True, imgsz=(512, 512), min_imgsz=(256, 256),
                             max_imgsz=(1024, 1024))
    assert (profile.min, profile.opt, profile.max) == ((1, 3, 256, 256), (1, 3, 512, 512), (1, 3, 1024, 1024))


def test_fixed_onnx_dimensions_stay_fixed_in_a_dynamic_profile():
    profile = engine_profile([2, 3, "height", "width"], DESCRIPTION, dynamic=True)
    assert profile.min[0] == profile.opt[0] == profile.max[0] == 2


@pytest.mark.parametrize("shape, options, message", [
    ([1, 3, 128, 160], {"dynamic": True}, r"static \(1×3×128×160\); a dynamic engine needs a dynamic export"),
    ([1, 3, 128, 160], {"batch": 4}, "fixed batch of 1, not 4"),
    ([1, 3, 128, 160], {"imgsz": (256, 160)}, "fixed height of 128, not 256"),
    (DYNAMIC, {"imgsz": (500, 640)}, "height 500 is not a multiple of the pad divisor 32"),
    (DYNAMIC, {"dynamic": True, "min_imgsz": (640, 640)}, "height must satisfy min ≤ opt ≤ max, got 640, 512, 512"),
    (DYNAMIC, {"dynamic": True, "max_imgsz": (256, 256)}, "height must satisfy min ≤ opt ≤ max"),
    (DYNAMIC, {"max_imgsz": (1024, 1024)}, "--min-imgsz and --max-imgsz shape a dynamic engine: add --dynamic"),
    (DYNAMIC, {"batch": 0}, "--batch must be ≥ 1"),
    (DYNAMIC, {"imgsz": (0, 640)}, "--imgsz must be positive"),
    ([1, 3, 128], {}, r"must be \[batch, 3, height, width\]"),
])
def test_impossible_profiles_are_one_line_errors(shape, options, message):
    with pytest.raises(LSNetError, match=message):
        engine_profile(shape, DESCRIPTION, **options)


def test_validate_profile_checks_channels_and_batch():
    with pytest.raises(LSNetError, match="3 channels"):
        validate_profile(ShapeProfile("images", (1, 1, 64, 64), (1, 1, 64, 64), (1, 1, 64, 64)), 32)
    with pytest.raises(LSNetError, match="batch must be ≥ 1"):
        validate_profile(ShapeProfile("images", (0, 3, 64, 64), (1, 3, 64, 64), (1, 3, 64, 64)), 32)


FRAMES = ModelDescription(task="bbox", class_names=["a"], input_size=(512, 640), input_kind="frames")
FRAMES_INPUT = ["batch", "height", "width", 3]


def test_a_frames_engine_is_built_for_1080p_frames_by_default_whatever_its_canvas():
    profile = engine_profile(FRAMES_INPUT, FRAMES, input_name="frames")
    assert profile.min == profile.opt == profile.max == (1, 1080, 1920, 3) and profile.frames
    assert profile.hw("opt") == (1080, 1920)
    assert engine_profile([2, "height", "width", 3], FRAMES, imgsz=(720, 1280)).opt == (2, 720, 1280, 3)


def test_a_dynamic_frames_engine_takes_frames_up_to_4k_any_size_no_pad_divisor():
    profile = engine_profile(FRAMES_INPUT, FRAMES, batch=4, dynamic=True, input_name="frames")
    assert (profile.min, profile.opt, profile.max) == ((1, 32, 32, 3), (4, 1080, 1920, 3), (4, 2160, 3840, 3))
    profile = engine_profile(FRAMES_INPUT, FRAMES, dynamic=True, min_imgsz=(720, 1280), imgsz=(1081, 1919),
                             max_imgsz=(1440, 2560))
    assert (profile.hw("min"), profile.hw("opt"), profile.hw("max")) == ((720, 1280), (1081, 1919), (1440, 2560))
    assert engine_profile([2, "height", "width", 3], FRAMES, dynamic=True).min[0] == 2  # a fixed batch stays fixed


@pytest.mark.parametrize("shape, options, message", [
    (FRAMES_INPUT, {"dynamic": True, "max_imgsz": (720, 1280)}, "height must satisfy min ≤ opt ≤ max"),
    (FRAMES_INPUT, {"min_imgsz": (720, 1280)}, "add --dynamic"),
    ([1, "height", "width", 3], {"batch": 2}, "fixed batch of 1, not 2"),
    (["batch", 3, "height", "width"], {}, r"must be \[batch, height, width, 3\]"),
])
def test_impossible_frames_profiles_are_one_line_errors(shape, options, message):
    with pytest.raises(LSNetError, match=message):
        engine_profile(shape, FRAMES, **options)
