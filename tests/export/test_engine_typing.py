"""`lsnet.export.engine_typing`: how the engine build types the network for each graph precision,
precision asked for and TensorRT major version — the decisions `lsnet.export.engine._build` carries
out with TensorRT (checked against the TensorRT 10.3 and 11.1 headers: `kSTRONGLY_TYPED` is bit 1
in 10, deprecated and always on in 11; builder precision flags and calibrators do not exist in 11)."""
import pytest

from lsnet.errors import LSNetError
from lsnet.export.engine_typing import build_plan


@pytest.mark.parametrize("graph, asked", [("int8", "fp16"), ("int8", "int8"), ("fp16", "fp16")])
def test_an_explicit_graph_is_built_strongly_typed_as_written_on_10_and_11(graph, asked):
    ten, eleven = build_plan(graph, asked, 10), build_plan(graph, asked, 11)
    for plan in (ten, eleven):
        assert plan.precision == graph and plan.explicit and plan.strongly_typed
        assert plan.builder_flags == () and not plan.calibrator and not plan.pin_fp32 and not plan.write_float16
    assert ten.network_flags == ("STRONGLY_TYPED",)  # asked for on 10
    assert eleven.network_flags == ()  # the only kind on 11; the flag is deprecated there


@pytest.mark.parametrize("graph, asked, message", [
    ("int8", "fp32", "the model is an INT8 graph"),
    ("fp16", "fp32", "the model is an FP16 graph"),
    ("fp16", "int8", "FP16 graph without Q/DQ nodes"),
])
@pytest.mark.parametrize("major", [10, 11])
def test_contradicting_the_graph_is_refused_on_any_tensorrt(graph, asked, message, major):
    with pytest.raises(LSNetError, match=message):
        build_plan(graph, asked, major)


def test_an_fp32_graph_on_tensorrt_10_uses_the_builder_flags_and_pins_fp32_parts():
    fp16 = build_plan("fp32", "fp16", 10)
    assert not fp16.strongly_typed and fp16.pin_fp32 and fp16.builder_flags == ("FP16", "OBEY_PRECISION_CONSTRAINTS")
    int8 = build_plan("fp32", "int8", 10)  # the marked fallback: implicit INT8 with a calibrator
    assert int8.calibrator and int8.pin_fp32 and "INT8" in int8.builder_flags and not int8.explicit
    fp32 = build_plan("fp32", "fp32", 10)
    assert fp32.builder_flags == () and not fp32.pin_fp32 and not fp32.strongly_typed


def test_an_fp32_graph_on_tensorrt_11_gets_fp16_written_in_and_no_int8():
    fp16 = build_plan("fp32", "fp16", 11)
    assert fp16.strongly_typed and fp16.write_float16 and fp16.builder_flags == () and not fp16.pin_fp32
    assert build_plan("fp32", "fp32", 11).builder_flags == ()
    with pytest.raises(LSNetError, match="INT8 on TensorRT 11 needs Q/DQ .*`lsnet export quantize"):
        build_plan("fp32", "int8", 11)


def test_no_plan_for_tensorrt_11_sets_a_builder_flag_or_a_calibrator():
    for graph, asked in [("fp32", "fp32"), ("fp32", "fp16"), ("fp16", "fp16"), ("int8", "int8"), ("int8", "fp16")]:
        plan = build_plan(graph, asked, 11)
        assert plan.builder_flags == () and not plan.calibrator and plan.strongly_typed
