"""`lsnet export onnx`: a portable ONNX model with standard ops only.

The network goes through PyTorch's dynamo exporter (opset ≥ 19 writes the towers' DCNv2 as a
standard `DeformConv`; the pyramid DCN is GridSample + Conv by construction, see
`lsnet.model.pyramid_dcn`); decoding + NMS are appended as ONNX ops (`decode_graph`). The
result runs on ONNX Runtime's CPU provider and parses in TensorRT without our plugins.

Input `images` float32 [B, 3, H, W] (normalised, padded; static = the description's
input_size, or dynamic batch/height/width with `dynamic=True`); outputs the padded
`num_dets, boxes, scores, labels, landmarks` of docs/architecture.md §3; the model description JSON in
the metadata under `lsnet_description`.

`frames=True` writes a frames model instead (`frames_graph`): input `frames` uint8 [B, H, W, 3]
BGR of any size, letterboxed in the graph onto the input_size canvas; outputs in frame pixels;
`dynamic=True` then makes the batch dynamic (the canvas stays input_size).
"""
from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout
from collections.abc import Callable
from pathlib import Path

import onnx
import onnx_graphsurgeon as gs
import torch
from torch import nn

from lsnet import __version__
from lsnet.description import EXPORT_INFO_KEY, ONNX_METADATA_KEY, ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.decode_graph import append_decode, level_tensor_names
from lsnet.export.frames_graph import add_frames_input
from lsnet.files import atomic_write
from lsnet.model.checkpoint import load_model

MIN_OPSET = 19  # DeformConv; the dynamo exporter silently writes invalid models at 17/18 (docs/toolchain.md)


class HeadMaps(nn.Module):
    """The network up to the per-level maps decoding reads, as a flat tuple (level-major)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        flat = []
        for level in self.model.level_outputs(self.model(images)):
            flat += [level.cls_logits, level.landmark_vectors]
            if level.box_vectors is not None:
                flat.append(level.box_vectors)
        return tuple(flat)


def output_names(description: ModelDescription) -> list[str]:
    with_box = description.box_source == "side_midpoints"
    return [n for level in range(len(description.strides)) for n in level_tensor_names(level, with_box)]


def export_network(model, description: ModelDescription, batch: int, image_hw: tuple[int, int], dynamic: bool,
                   opset: int, dynamic_canvas: bool = True) -> onnx.ModelProto:
    """The network alone (per-level maps as outputs) through the dynamo exporter; `dynamic`: any
    batch, and any canvas too unless `dynamic_canvas=False`."""
    dummy = torch.zeros(batch, 3, *image_hw)
    dynamic_shapes = None
    if dynamic:
        d = description.pad_divisor
        dynamic_shapes = {"images": {0: torch.export.Dim("batch", min=1, max=64)}}
        if dynamic_canvas:
            dynamic_shapes["images"].update({2: d * torch.export.Dim("h", min=2, max=8192 // d),
                                             3: d * torch.export.Dim("w", min=2, max=8192 // d)})
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(HeadMaps(model), (dummy,), dynamo=True, opset_version=opset,
                                    input_names=["images"], output_names=output_names(description),
                                    dynamic_shapes=dynamic_shapes, external_data=False, verbose=False)
    return program.model_proto


def add_decode(network: onnx.ModelProto, description: ModelDescription) -> onnx.ModelProto:
    graph = gs.import_onnx(network)
    d = description
    append_decode(graph, list(d.strides), num_landmarks=d.num_landmarks, box_source=d.box_source,
                  pre_nms_top_k=d.pre_nms_top_k, score_threshold=d.score_threshold,
                  nms_iou_threshold=d.nms_iou_threshold, max_detections=d.max_detections)
    graph.cleanup().toposort()
    model = gs.export_onnx(graph)
    model.ir_version = network.ir_version
    del model.opset_import[:]
    model.opset_import.extend(network.opset_import)
    return model


def set_metadata(model: onnx.ModelProto, description: ModelDescription, info: dict) -> None:
    entries = {ONNX_METADATA_KEY: description.to_json(), EXPORT_INFO_KEY: json.dumps(info, sort_keys=True)}
    del model.metadata_props[:]
    for key, value in entries.items():
        model.metadata_props.add(key=key, value=value)


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxslim: constant folding and dead-code removal (a well-kept simplifier)."""
    import onnxslim

    metadata = [(p.key, p.value) for p in model.metadata_props]
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        slim = onnxslim.slim(model)
    del slim.metadata_props[:]
    for key, value in metadata:
        slim.metadata_props.add(key=key, value=value)
    return slim


def export_onnx(checkpoint: str | Path, out: str | Path, *, dynamic: bool = False, batch: int = 1,
                imgsz: tuple[int, int] | None = None, opset: int = MIN_OPSET, simplify_graph: bool = True,
                progress: Callable[[str], None] | None = None, frames: bool = False) -> Path:
    """Checkpoint → one self-contained, `onnx.checker`-clean ONNX file at `out` (`frames=True`: a frames model).

    `progress` gets the name of each step as it begins (e.g. `lsnet.progress.Steps`)."""
    progress = progress or (lambda step: None)
    if opset < MIN_OPSET:
        raise LSNetError(f"opset {opset} is too old: DeformConv needs opset ≥ {MIN_OPSET}")
    if batch < 1:
        raise LSNetError(f"batch must be ≥ 1, got {batch}")
    model, description = load_model(checkpoint)
    if imgsz is not None:
        description = description.replace(input_size=tuple(imgsz))
    h, w = description.input_size
    if h % description.pad_divisor or w % description.pad_divisor:
        raise LSNetError(f"input size {h}×{w} must be a multiple of {description.pad_divisor}")
    progress("tracing the network (torch.onnx, dynamo), the longest step")
    network = export_network(model, description, batch, (h, w), dynamic, opset, dynamic_canvas=not frames)
    progress("appending decode + NMS")
    full = add_decode(network, description)
    architecture = {k: v for k, v in model.cfg.to_dict().items() if k != "pretrained"}
    set_metadata(full, description, {"lsnet_version": __version__, "dynamic": dynamic, "batch": batch,
                                     "opset": opset, "checkpoint": Path(checkpoint).name,
                                     "model_config": architecture})
    if simplify_graph:
        progress("simplifying (onnxslim)")
        full = simplify(full)
    if frames:  # after simplifying: the letterbox is written folded, and its tensor names stay as written
        progress("adding the letterbox (frames in)")
        full = add_frames_input(full)
    progress("checking (onnx.checker) and writing")
    onnx.checker.check_model(full, full_check=True)
    return atomic_write(out, full.SerializeToString())
