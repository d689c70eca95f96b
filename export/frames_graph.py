"""`lsnet export onnx --frames`: the host pre-processing of `lsnet.runtime.preprocess`, inside the graph.

An images model takes the float32 canvases [B, 3, H, W] the host made. Its frames model takes
the uint8 BGR frames as a camera or decoder gives them, `frames` [B, height, width, 3] of any
size (one size per batch: one tensor), and letterboxes them itself, in standard ONNX ops that
ONNX Runtime runs on the CPU and TensorRT's parser takes:

    frames ─ Cast ─ Resize ─ Transpose ─ Gather (BGR → RGB) ─ Sub mean, Div std ─ Pad ─ Reshape ─ images

- the canvas is the description's `input_size` (a frames model always pads to it);
- the resized size is `fit_scale`'s rule computed in int64 (round half up, exact), so host and
  graph agree to the pixel on every frame size;
- Resize is linear with `half_pixel` coordinates, the mapping of OpenCV's INTER_LINEAR; OpenCV
  computes in fixed point and rounds to uint8, the graph keeps floats: the canvases differ by less
  than one grey level (tests/export/test_frames_graph.py measures it);
- TensorRT takes uint8 only as a network input, so Cast comes first; the Resize runs in the
  frame's own layout (NHWC, the last three dimensions, as TensorRT's linear resize requires), so
  only the small resized image is transposed;
- the final Reshape to the constant canvas shape makes the network's input static for shape
  inference and TensorRT, whatever the frame size.

After the decode (which writes `canvas_<output>`, canvas pixels), boxes and landmarks are clamped
to the resized image, divided by the scale and clamped to the frame — what
`lsnet.runtime.detections.detections_from_padded` does on the host — so `boxes` and `landmarks`
are in frame pixels. The letterbox's nodes are named `lsnet_frames/…`.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnx
import onnx_graphsurgeon as gs

from lsnet.description import (CANVAS_OUTPUT_PREFIX, EXPORT_INFO_KEY, FRAMES_INPUT, ONNX_METADATA_KEY,
                               ModelDescription)
from lsnet.errors import LSNetError
from lsnet.export.graph_builder import GraphBuilder
from lsnet.export.subgraph import nodes_between
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES as OUTPUT_NAMES
from lsnet.runtime.detections import decode_output_names

FRAMES_NODE_PREFIX = "lsnet_frames/"
IMAGES_TENSOR = "images"  # the network's input: the graph input of an images model, the letterbox's output here
PIXEL_OUTPUTS = ("boxes", "landmarks")  # the outputs in pixels, which go back to frame pixels


def _resized_size(bld: GraphBuilder, h, w, canvas_hw: tuple[int, int]):
    """int64 [1] (rh, rw): `lsnet.runtime.preprocess.fit_scale`'s integers, round half up."""
    th, tw = bld.const([canvas_hw[0]]), bld.const([canvas_hw[1]])
    one, two = bld.const([1]), bld.const([2])

    def rounded(numerator_side, target, denominator_side):  # (2·n·t + d) // (2·d) = round(n · t / d)
        twice = bld.op("Mul", [bld.op("Mul", [two, numerator_side]), target])
        return bld.op("Div", [bld.op("Add", [twice, denominator_side]), bld.op("Mul", [two, denominator_side])])

    height_binds = bld.op("LessOrEqual", [bld.op("Mul", [th, w]), bld.op("Mul", [tw, h])], dtype=bool)
    rh = bld.op("Where", [height_binds, th, rounded(h, tw, w)])
    rw = bld.op("Where", [height_binds, rounded(w, th, h), tw])
    return bld.op("Max", [rh, one]), bld.op("Max", [rw, one])


def _as_float(bld: GraphBuilder, tensor):
    return bld.op("Cast", [tensor], {"to": onnx.TensorProto.FLOAT}, dtype=np.float32)


def _letterbox(bld: GraphBuilder, frames: gs.Variable, images: gs.Variable, description: ModelDescription,
               canvas_hw: tuple[int, int]):
    """frames → `images` (the normalised, padded canvas); returns (scale, resized w, h, frame w, h) as float [1]."""
    h, w = bld.dims(frames, [1]), bld.dims(frames, [2])
    rh, rw = _resized_size(bld, h, w, canvas_hw)
    batch = bld.dims(frames, [0])
    sizes = bld.op("Concat", [batch, rh, rw, bld.const([3])], {"axis": 0}, dtype=np.int64)
    resized = bld.op("Resize", [_as_float(bld, frames), gs.Variable.empty(), gs.Variable.empty(), sizes],
                     {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}, dtype=np.float32)
    rgb = bld.op("Gather", [bld.op("Transpose", [resized], {"perm": [0, 3, 1, 2]}), bld.const([2, 1, 0])],
                 {"axis": 1})  # [B, 3, rh, rw], BGR → RGB
    channel = (1, 3, 1, 1)
    normalised = bld.op("Div", [bld.op("Sub", [rgb, bld.const(np.reshape(description.mean, channel), np.float32)]),
                                bld.const(np.reshape(description.std, channel), np.float32)])
    zeros = bld.const([0, 0, 0, 0, 0, 0])
    pads = bld.op("Concat", [zeros, bld.op("Sub", [bld.const([canvas_hw[0]]), rh]),
                             bld.op("Sub", [bld.const([canvas_hw[1]]), rw])], {"axis": 0}, dtype=np.int64)
    padded = bld.op("Pad", [normalised, pads, bld.const(0.0, np.float32)], {"mode": "constant"})
    bld.graph.layer(op="Reshape", name=f"{FRAMES_NODE_PREFIX}canvas", inputs=[padded, bld.const([-1, 3, *canvas_hw])],
                    outputs=[images])
    fh, fw, frh, frw = (_as_float(bld, t) for t in (h, w, rh, rw))
    scale = bld.op("Min", [bld.op("Div", [bld.const([float(canvas_hw[0])], np.float32), fh]),
                           bld.op("Div", [bld.const([float(canvas_hw[1])], np.float32), fw])])
    return scale, (frw, frh), (fw, fh)


def _to_frame_pixels(bld: GraphBuilder, xy, scale, resized_wh, frame_wh, pairs: int):
    """Canvas pixels (…, 2·pairs, x then y) → frame pixels, clamped as `detections_from_padded` does."""
    resized = bld.op("Concat", list(resized_wh) * pairs, {"axis": 0})
    frame = bld.op("Concat", list(frame_wh) * pairs, {"axis": 0})
    inside = bld.op("Min", [bld.op("Max", [xy, bld.const(0.0, np.float32)]), resized])
    return bld.op("Min", [bld.op("Div", [inside, scale]), frame])


def add_frames_input(model: onnx.ModelProto, canvas_hw: tuple[int, int] | None = None) -> onnx.ModelProto:
    """The frames model of an images model (`lsnet export onnx`): same network and decode, with the
    letterbox in front and the mapping to frame pixels behind (module docstring).

    `canvas_hw` defaults to the description's input_size; a static model must have that canvas.
    """
    metadata = {p.key: p.value for p in model.metadata_props}
    if ONNX_METADATA_KEY not in metadata:
        raise LSNetError(f"the ONNX model has no '{ONNX_METADATA_KEY}' metadata: not an lsnet export")
    description = ModelDescription.from_json(metadata[ONNX_METADATA_KEY])
    if description.takes_frames:
        raise LSNetError("the model takes frames already")
    canvas_hw = tuple(int(v) for v in (canvas_hw or description.input_size))
    if canvas_hw[0] % description.pad_divisor or canvas_hw[1] % description.pad_divisor:
        raise LSNetError(f"canvas {canvas_hw[0]}×{canvas_hw[1]} must be a multiple of {description.pad_divisor}")
    graph = gs.import_onnx(model)
    if len(graph.inputs) != 1 or graph.inputs[0].name != IMAGES_TENSOR:
        raise LSNetError(f"expected one input '{IMAGES_TENSOR}' (an images model from `lsnet export onnx`), got "
                         f"{', '.join(t.name for t in graph.inputs)}")
    images = graph.inputs[0]
    batch, _, height, width = images.shape
    if isinstance(height, int) and isinstance(width, int) and (height, width) != canvas_hw:
        raise LSNetError(f"the model's canvas is fixed at {height}×{width}, not {canvas_hw[0]}×{canvas_hw[1]}")
    if tuple(t.name for t in graph.outputs) != OUTPUT_NAMES:
        raise LSNetError(f"expected the outputs {', '.join(OUTPUT_NAMES)} (an lsnet export)")

    bld = GraphBuilder(graph, FRAMES_NODE_PREFIX)
    frames = gs.Variable(FRAMES_INPUT, dtype=np.uint8, shape=[batch, "height", "width", 3])
    images.shape = [batch, 3, *canvas_hw]
    graph.inputs = [frames]
    scale, resized_wh, frame_wh = _letterbox(bld, frames, images, description, canvas_hw)
    outputs = []
    for canvas in list(graph.outputs):
        final = gs.Variable(canvas.name, dtype=canvas.dtype, shape=canvas.shape)
        canvas.name = CANVAS_OUTPUT_PREFIX + canvas.name
        if final.name in PIXEL_OUTPUTS:
            pairs = 2 if final.name == "boxes" else 1
            value = _to_frame_pixels(bld, canvas, scale, resized_wh, frame_wh, pairs)
        else:
            value = canvas
        graph.layer(op="Identity", name=f"{FRAMES_NODE_PREFIX}output_{final.name}", inputs=[value], outputs=[final])
        outputs.append(final)
    graph.outputs = outputs
    graph.cleanup().toposort()

    framed = gs.export_onnx(graph)
    framed.ir_version = model.ir_version
    del framed.opset_import[:]
    framed.opset_import.extend(model.opset_import)
    frames_description = dataclasses.replace(description, input_kind="frames", input_size=canvas_hw)
    info = {**json.loads(metadata.get(EXPORT_INFO_KEY, "{}")), "frames": True}
    for key, value in metadata.items():
        value = {ONNX_METADATA_KEY: frames_description.to_json(), EXPORT_INFO_KEY: json.dumps(info, sort_keys=True)
                 }.get(key, value)
        framed.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(framed, full_check=True)
    return framed


def letterbox_nodes(graph: gs.Graph, description: ModelDescription) -> list[gs.Node]:
    """A frames graph's letterbox (frames → images) and mapping to frame pixels (decode outputs →
    graph outputs); [] for an images graph."""
    if not description.takes_frames:
        return []
    tensors = graph.tensors()
    before = nodes_between([tensors[IMAGES_TENSOR]], {FRAMES_INPUT}) or []
    after = nodes_between(graph.outputs, set(decode_output_names(description)) | {FRAMES_INPUT}) or []
    return before + after
