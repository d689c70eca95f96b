"""`lsnet.export.explicit_precision`: what precision a graph carries (read from the graph itself), which
nodes compute in FP32 by ONNX type inference, and the metadata a rewritten graph keeps."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lsnet.description import EXPORT_INFO_KEY, ONNX_METADATA_KEY, ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.explicit_precision import copy_metadata, float32_nodes, graph_precision, precision_record


def tiny_graph(kind: str, zero_point_type=np.int8) -> onnx.ModelProto:
    """images → [Q/DQ | Cast to FP16 …] → Relu → y: the three precisions a graph can carry."""
    nodes, initializers = [], []
    x = "images"
    if kind == "int8":
        initializers = [numpy_helper.from_array(np.array(0.1, np.float32), "scale"),
                        numpy_helper.from_array(np.array(0, zero_point_type), "zero")]
        nodes += [helper.make_node("QuantizeLinear", [x, "scale", "zero"], ["q"], name="q"),
                  helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["dq"], name="dq")]
        x = "dq"
    if kind == "fp16":
        nodes.append(helper.make_node("Cast", [x], ["half"], to=TensorProto.FLOAT16, name="to_half"))
        nodes.append(helper.make_node("Relu", ["half"], ["relu"], name="relu"))
        nodes.append(helper.make_node("Cast", ["relu"], ["y"], to=TensorProto.FLOAT, name="to_float"))
    else:
        nodes.append(helper.make_node("Relu", [x], ["y"], name="relu"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


@pytest.mark.parametrize("kind", ["fp32", "fp16", "int8"])
def test_the_precision_is_read_from_the_graph(kind):
    assert graph_precision(tiny_graph(kind)) == kind


def test_a_qdq_graph_of_another_type_is_refused():
    with pytest.raises(LSNetError, match="quantizes to FLOAT8E4M3FN; lsnet builds INT8 Q/DQ graphs only"):
        graph_precision(tiny_graph("int8", zero_point_type=onnx.helper.tensor_dtype_to_np_dtype(
            TensorProto.FLOAT8E4M3FN)))


def test_float32_nodes_are_those_type_inference_gives_a_float32_output():
    assert float32_nodes(tiny_graph("fp32")) == ["relu"]
    assert float32_nodes(tiny_graph("fp16")) == []  # the Casts only convert
    assert float32_nodes(tiny_graph("int8")) == ["relu"]  # Q/DQ only convert


def test_copy_metadata_keeps_the_description_and_records_the_precision():
    source, target = tiny_graph("fp32"), tiny_graph("int8")
    description = ModelDescription(task="bbox", class_names=["a"], input_size=(8, 8)).to_json()
    source.metadata_props.add(key=ONNX_METADATA_KEY, value=description)
    source.metadata_props.add(key=EXPORT_INFO_KEY, value=json.dumps({"checkpoint": "m.pt"}))
    copy_metadata(source, target, {"mode": "int8"})
    metadata = {p.key: p.value for p in target.metadata_props}
    assert metadata[ONNX_METADATA_KEY] == description
    assert json.loads(metadata[EXPORT_INFO_KEY]) == {"checkpoint": "m.pt", "precision": {"mode": "int8"}}
    assert precision_record(target) == {"mode": "int8"} and precision_record(source) == {}
