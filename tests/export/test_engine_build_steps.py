"""Steps of `lsnet.export.engine`'s build that decide behaviour without a GPU: the timing cache's
fallback, the precision flags of each build plan (TF32 cleared; none but TF32 in a strongly typed
build), and the parser-version check for DeformConv.

TensorRT is not installed here: the builder config is a recording stand-in with the methods the
build calls, so these tests pin what lsnet asks of TensorRT, not what TensorRT does with it."""
import enum
import types

import onnx
import pytest
from onnx import TensorProto, helper

from lsnet.errors import LSNetError
from lsnet.export.engine import _precision_flags, _timing_cache, check_parser_support
from lsnet.export.engine_typing import build_plan

BuilderFlag = enum.Enum("BuilderFlag", "FP16 INT8 TF32 OBEY_PRECISION_CONSTRAINTS")
TRT = types.SimpleNamespace(BuilderFlag=BuilderFlag)


class RecordingConfig:
    """The IBuilderConfig calls the build makes. `damaged`: how this TensorRT meets a bad cache blob
    ("raises", "none" or "rejects": create_timing_cache raises / returns None, set_timing_cache → False)."""

    def __init__(self, damaged: str = ""):
        self.damaged, self.cache, self.set_flags, self.cleared_flags = damaged, None, set(), set()

    def create_timing_cache(self, data: bytes):
        if data and self.damaged == "raises":
            raise TypeError("Failed to create timing cache")  # the bindings' way of reporting a bad blob
        if data and self.damaged == "none":
            return None
        return ("cache", bytes(data))

    def set_timing_cache(self, cache, ignore_mismatch: bool) -> bool:
        if cache is None:
            raise TypeError("incompatible function arguments")
        if cache[1] and self.damaged == "rejects":
            return False
        self.cache = cache
        return True

    def set_flag(self, flag):
        self.set_flags.add(flag)

    def clear_flag(self, flag):
        self.cleared_flags.add(flag)


@pytest.mark.parametrize("damaged", ["raises", "none", "rejects"])
def test_a_damaged_timing_cache_gives_a_fresh_cache_and_a_warning(damaged, tmp_path):
    path = tmp_path / "timing.cache"
    path.write_bytes(b"\x00garbage, not a timing cache")
    config, lines = RecordingConfig(damaged), []
    _timing_cache(config, path, lines.append)
    assert config.cache == ("cache", b"")
    assert lines == [f"warning: timing cache {path} is damaged or from another GPU or TensorRT release; starting a "
                     "new one (it is replaced after the build)"]


def test_a_usable_timing_cache_is_reused(tmp_path):
    path = tmp_path / "timing.cache"
    path.write_bytes(b"x" * 2_000_000)
    config, lines = RecordingConfig(), []
    _timing_cache(config, path, lines.append)
    assert config.cache == ("cache", b"x" * 2_000_000)
    assert lines == [f"timing cache: reusing {path} (2.0 MB)"]


@pytest.mark.parametrize("path", [None, "missing.cache"])
def test_no_timing_cache_file_starts_a_new_one_quietly(path, tmp_path):
    config, lines = RecordingConfig(), []
    _timing_cache(config, tmp_path / path if path else None, lines.append)
    assert config.cache == ("cache", b"") and lines == []


@pytest.mark.parametrize("major", [10, 11])
def test_fp32_builds_clear_tf32_on_both_tensorrt_releases(major):
    config, lines = RecordingConfig(), []
    _precision_flags(TRT, config, build_plan("fp32", "fp32", major), lines.append)
    assert config.cleared_flags == {BuilderFlag.TF32}
    assert config.set_flags == set()
    assert "TF32 off" in lines[0]


def test_reduced_precision_on_tensorrt_10_pins_fp32_layers_without_tf32():
    config, lines = RecordingConfig(), []
    _precision_flags(TRT, config, build_plan("fp32", "fp16", 10), lines.append)
    assert config.cleared_flags == {BuilderFlag.TF32}
    assert config.set_flags == {BuilderFlag.FP16, BuilderFlag.OBEY_PRECISION_CONSTRAINTS}


def test_the_tensorrt_10_calibrator_fallback_asks_for_int8_and_fp16():
    config, lines = RecordingConfig(), []
    _precision_flags(TRT, config, build_plan("fp32", "int8", 10), lines.append)
    assert config.set_flags == {BuilderFlag.FP16, BuilderFlag.INT8, BuilderFlag.OBEY_PRECISION_CONSTRAINTS}


@pytest.mark.parametrize("graph, major", [("fp32", 11), ("fp16", 10), ("fp16", 11), ("int8", 10), ("int8", 11)])
def test_strongly_typed_builds_take_precision_from_the_onnx_types_and_still_clear_tf32(graph, major):
    config, lines = RecordingConfig(), []
    _precision_flags(TRT, config, build_plan(graph, "fp16", major), lines.append)
    assert config.set_flags == set() and config.cleared_flags == {BuilderFlag.TF32}
    assert "strongly typed: precision from the ONNX types" in lines[0]


def graph_with(op_type: str) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 4])
    node = helper.make_node(op_type, ["x"], ["y"])
    return helper.make_model(helper.make_graph([node], "g", [x], [y]))


def test_deformconv_needs_the_parser_of_tensorrt_10_1():
    with pytest.raises(LSNetError, match=r"TensorRT 10\.0\.1\.6's ONNX parser cannot import DeformConv .*needs "
                                         r"TensorRT 10\.1 or newer"):
        check_parser_support(graph_with("DeformConv"), "10.0.1.6")
    check_parser_support(graph_with("DeformConv"), "10.1.0.27")
    check_parser_support(graph_with("DeformConv"), "11.4.0.106")
    check_parser_support(graph_with("Relu"), "10.0.1.6")  # no DeformConv: nothing to refuse
