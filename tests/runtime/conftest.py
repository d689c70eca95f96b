"""Fixtures of the runtime tests besides the shared small model (`small_checkpoint`, `small_onnx`,
`synthetic_video` in tests/conftest.py): `small_patched` is that export through the real
`lsnet export patch`.
"""
from pathlib import Path

import pytest
from small_model import small_description

from lsnet.description import ONNX_METADATA_KEY


@pytest.fixture(scope="session")
def small_patched(small_onnx) -> Path:
    """`small_onnx` through the real `lsnet export patch`, next to the checkpoint (for bench)."""
    from lsnet.export.patch import patch_onnx

    return patch_onnx(small_onnx, small_onnx.with_name("small.trt.onnx")).out


@pytest.fixture(scope="session")
def small_frames_onnx(small_onnx) -> Path:
    """The frames model of `small_onnx` (`add_frames_input`: uint8 frames in, frame pixels out), next to it."""
    import onnx

    from lsnet.export.frames_graph import add_frames_input

    out = small_onnx.with_name("small.frames.onnx")
    onnx.save(add_frames_input(onnx.load(small_onnx)), out)
    return out


@pytest.fixture
def fixed_output_onnx(tmp_path):
    """fixed_output_onnx(batch, height, width) → path of a PLUMBING FIXTURE, NOT A MODEL.

    Whatever the image, the graph outputs one detection (class 1, score 0.9, box 16,16 → 64,64
    in canvas pixels); an int is a fixed dimension, a str a symbolic one. It tests the ONNX
    Runtime backend's handling of shapes and batches, not detection.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def make(batch, height, width, name="fixture.onnx"):
        box = np.array([16, 16, 64, 64], np.float32)
        outputs = {"num_dets": np.array([[1]], np.int32), "boxes": box[None, None],
                   "scores": np.array([[0.9]], np.float32), "labels": np.array([[1]], np.int32),
                   "landmarks": np.array([[[[40, 16], [16, 40], [40, 64], [64, 40]]]], np.float32)}
        nodes = [helper.make_node("Shape", ["images"], ["shape"], start=0, end=1)]
        initializers = []
        for out_name, value in outputs.items():
            initializers += [numpy_helper.from_array(value, f"{out_name}_value"),
                             numpy_helper.from_array(np.array(value.shape[1:], np.int64), f"{out_name}_tail")]
            nodes += [helper.make_node("Concat", ["shape", f"{out_name}_tail"], [f"{out_name}_shape"], axis=0),
                      helper.make_node("Expand", [f"{out_name}_value", f"{out_name}_shape"], [out_name])]
        types = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int32): TensorProto.INT32}
        graph = helper.make_graph(
            nodes, "fixed_output_fixture",
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, height, width])],
            [helper.make_tensor_value_info(k, types[v.dtype], [batch, *v.shape[1:]]) for k, v in outputs.items()],
            initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
        model.metadata_props.add(key=ONNX_METADATA_KEY, value=small_description().to_json())
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, tmp_path / name)
        return tmp_path / name

    return make
