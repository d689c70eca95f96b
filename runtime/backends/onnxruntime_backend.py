"""ONNX Runtime backend: an `.onnx` from `lsnet export onnx` (padded outputs, description in metadata).

CPU by default; `device="cuda"` or `"tensorrt"` (or an explicit `providers` list) uses ONNX
Runtime's GPU execution providers where the installed wheel has them.
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort

from lsnet.description import ModelDescription, read_onnx_record
from lsnet.errors import LSNetError, first_line
from lsnet.plugins import DECODE_PLUGIN, PYRAMID_DCN_PLUGIN
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES, check_outputs
from lsnet.runtime.detector import Detector

# Execution providers per device, best first; CPU always last as ONNX Runtime's fallback.
DEVICE_PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}
BACKEND_NAMES = {"CPUExecutionProvider": "onnxruntime", "CUDAExecutionProvider": "onnxruntime-cuda",
                 "TensorrtExecutionProvider": "onnxruntime-tensorrt"}


def choose_providers(device: str, providers: list[str] | None) -> list[str]:
    """The providers to ask for; LSNetError if the first one is missing from this ONNX Runtime."""
    if providers is None:
        if device not in DEVICE_PROVIDERS:
            raise LSNetError(f"unknown device {device!r} for ONNX Runtime (expected {', '.join(DEVICE_PROVIDERS)})")
        providers = DEVICE_PROVIDERS[device]
    available = ort.get_available_providers()
    if providers[0] not in available:
        raise LSNetError(f"this ONNX Runtime has no {providers[0]} (it has {', '.join(available)}); "
                         "install onnxruntime-gpu for CUDA/TensorRT")
    return [p for p in providers if p in available]


def read_metadata(session: ort.InferenceSession, path: str) -> tuple[ModelDescription, dict]:
    """The model description and the export record from the ONNX metadata (`read_onnx_record`)."""
    record = read_onnx_record(session.get_modelmeta().custom_metadata_map, path)
    return record.description, record.export_info


def check_input(name: str, onnx_type: str, shape: list, description: ModelDescription, path: str) -> None:
    """LSNetError unless the graph input is what the description's input_kind says."""
    if description.takes_frames:
        expected, ok = "uint8 frames [B, H, W, 3]", onnx_type == "tensor(uint8)" and len(shape) == 4 and shape[3] == 3
    else:
        expected, ok = "float32 images [B, 3, H, W]", onnx_type == "tensor(float)" and len(shape) == 4 and shape[1] == 3
    if not ok:
        raise LSNetError(f"{path}: its description says the model takes {expected}, but the graph input {name} is "
                         f"{onnx_type} {list(shape)}; re-export it with `lsnet export onnx`")


class OnnxRuntimeDetector(Detector):
    def __init__(self, session: ort.InferenceSession, description: ModelDescription, path: str = "",
                 export_info: dict | None = None):
        images = session.get_inputs()[0]
        if len(session.get_inputs()) != 1:
            raise LSNetError(f"{path}: expected one input, the graph has "
                             f"{', '.join(f'{i.name} {i.shape}' for i in session.get_inputs())}; "
                             "export it with `lsnet export onnx`")
        check_input(images.name, images.type, images.shape, description, path)
        batch, height, width = (images.shape[0], *images.shape[1:3]) if description.takes_frames else \
            (images.shape[0], *images.shape[2:])
        # A frames model letterboxes onto its own fixed canvas: there is no canvas to choose.
        dynamic = not description.takes_frames and not (isinstance(height, int) and isinstance(width, int))
        fixed = isinstance(batch, int)
        super().__init__(description, dynamic=dynamic, max_batch=batch if fixed else None, fixed_batch=fixed)
        if not dynamic and not description.takes_frames and (height, width) != tuple(description.input_size):
            raise LSNetError(f"{path}: the graph's input is {height}×{width} but its description says "
                             f"{description.input_size[0]}×{description.input_size[1]}; re-export it")
        check_outputs(description, {o.name: o.shape for o in session.get_outputs()}, path)
        self.session, self.path = session, path
        self.export_info = export_info or {}
        self.input_name = images.name
        self.backend = BACKEND_NAMES.get(session.get_providers()[0], "onnxruntime")

    @classmethod
    def from_file(cls, path: str, device: str = "cpu", providers: list[str] | None = None,
                  threads: int = 0) -> "OnnxRuntimeDetector":
        """`threads`: ONNX Runtime intra-op threads (0 → its default, one per core)."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: no per-node placement warnings on stderr
        providers = choose_providers(device, providers)
        try:
            session = ort.InferenceSession(path, options, providers=providers)
        except Exception as e:  # ONNX Runtime's error types do not share a base class beyond Exception
            if any(op in str(e) for op in (PYRAMID_DCN_PLUGIN, DECODE_PLUGIN)):
                raise LSNetError(f"{path} is a patched ONNX: ONNX Runtime cannot run its TensorRT plugin nodes; "
                                 "run it with --backend twins (the plugins' CPU twins), build an engine "
                                 "(`lsnet export engine`), or use the portable .onnx") from None
            raise LSNetError(f"{path} is not an ONNX model ONNX Runtime can run: {first_line(e)}") from None
        description, export_info = read_metadata(session, path)
        return cls(session, description, path, export_info)

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.session.run(list(PADDED_OUTPUT_NAMES), {self.input_name: self.fit_batch(batch)})
        return {name: value[:len(batch)] for name, value in zip(PADDED_OUTPUT_NAMES, outputs)}
