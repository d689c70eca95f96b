"""Plugin CPU twins backend: a patched ONNX (`lsnet export patch`, `.trt.onnx`) on the CPU.

The TensorRT plugin nodes run on the plugins' CPU twins (the CUDA kernels' math, compiled for the
host: trt_plugins/README.md), every other node on ONNX Runtime (`twins_ops.PatchedGraph`). Slower
than either portable backend; it is there to run and check the graph TensorRT will get on a
machine without a GPU. `load` picks it for a patched ONNX.
"""
from __future__ import annotations

import numpy as np
import onnx
from google.protobuf.message import DecodeError

from lsnet.description import ModelDescription, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError
from lsnet.plugins import load_twins
from lsnet.runtime.backends.twins_ops import PatchedGraph
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES, check_outputs
from lsnet.runtime.detector import Detector


class TwinsDetector(Detector):
    backend = "twins"

    def __init__(self, graph: PatchedGraph, description: ModelDescription, path: str = "",
                 export_info: dict | None = None):
        images = graph.model.graph.input[0]
        batch, *dims = (d.dim_value or None for d in images.type.tensor_type.shape.dim)
        height, width = dims[:2] if description.takes_frames else dims[1:]  # frames [B, H, W, 3]: no canvas to pick
        super().__init__(description, dynamic=not description.takes_frames and not (height and width),
                         max_batch=batch, fixed_batch=batch is not None)
        check_outputs(description, {o.name: [d.dim_value if d.HasField("dim_value") else None
                                             for d in o.type.tensor_type.shape.dim]
                                    for o in graph.model.graph.output}, path)
        self.graph, self.path, self.input_name = graph, path, images.name
        self.export_info = export_info or {}

    @classmethod
    def from_file(cls, path: str, threads: int = 0) -> "TwinsDetector":
        """`threads`: ONNX Runtime intra-op threads of the standard-op stages (0 → its default)."""
        load_twins()  # not built: one line with the build command, before any work
        try:
            model = onnx.load(path)
        except (DecodeError, ValueError, OSError) as e:
            raise LSNetError(f"{path} is not an ONNX model ({type(e).__name__})") from None
        record = read_onnx_record(onnx_metadata(model), path)
        return cls(PatchedGraph(model, threads), record.description, path, record.export_info)

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.graph.run({self.input_name: self.fit_batch(batch)})
        self.model_stages = {"decode": self.graph.decode_seconds}
        return {name: outputs[name][:len(batch)] for name in PADDED_OUTPUT_NAMES}
