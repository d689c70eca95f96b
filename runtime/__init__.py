"""Running an LSNet: `load` a model file, `predict` images, draw, stream video, benchmark (docs/architecture.md §5).

    from lsnet.runtime import load
    detector = load("model.onnx")            # .pt → PyTorch, .onnx → ONNX Runtime, .engine → TensorRT
    detections = detector.predict(image)     # BGR uint8 → Detections in original-image pixels

Imports numpy and OpenCV only; each backend imports its own package when a file needs it, so an
edge device runs `.onnx` or `.engine` files without torch.
"""
from lsnet.runtime.backends import BACKENDS, load
from lsnet.runtime.detections import Detections
from lsnet.runtime.detector import Detector
from lsnet.runtime.draw import draw_detections

__all__ = ["BACKENDS", "Detections", "Detector", "draw_detections", "load"]
