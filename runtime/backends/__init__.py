"""Which backend runs a model file, and `load(path, backend=None, **options)` (docs/architecture.md §2, §5).

A backend is named by the file's suffix (`.pt` PyTorch, `.onnx` ONNX Runtime, `.engine`/`.plan`
TensorRT), except that a patched ONNX (`lsnet export patch`), whose plugin nodes ONNX Runtime
cannot run, goes to the plugin CPU twins; `backend=` picks another one that can run the same file,
e.g. ONNX Runtime with its CUDA or TensorRT execution provider. Backend modules are imported only
when used, so loading an `.onnx` never imports torch. Every backend class provides
`from_file(path, **options)`.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path

from lsnet.description import PATCHED_METADATA_KEY, onnx_metadata
from lsnet.errors import LSNetError


@dataclass(frozen=True)
class Backend:
    name: str
    module: str  # lsnet.runtime.backends.<module>
    class_name: str
    suffixes: tuple[str, ...]
    install_hint: str  # what to install when the module does not import
    options: dict = field(default_factory=dict)  # fixed options this name stands for

    def detector_class(self):
        try:
            module = importlib.import_module(f"lsnet.runtime.backends.{self.module}")
        except ImportError as e:
            raise LSNetError(f"{BACKEND_TITLES[self.module]} backend is not available here ({e}); "
                             f"{self.install_hint}") from None
        return getattr(module, self.class_name)

    def accepted(self, options: dict) -> dict:
        """The part of `options` this backend's `from_file` (or `load` itself) takes (e.g. no
        `threads` for TensorRT)."""
        parameters = inspect.signature(self.detector_class().from_file).parameters
        return {k: v for k, v in options.items() if k in parameters or k in LOAD_OPTIONS}


LOAD_OPTIONS = ("tight_canvas",)  # options of every backend, which `load` applies itself


BACKEND_TITLES = {"torch_backend": "PyTorch", "onnxruntime_backend": "ONNX Runtime",
                  "tensorrt_backend": "TensorRT", "twins_backend": "plugin CPU twins"}

# The first backend listing a suffix is the default for that suffix.
BACKENDS = {b.name: b for b in (
    Backend("pytorch", "torch_backend", "TorchDetector", (".pt",), "pip install 'lsnet-trt[train]'"),
    Backend("onnxruntime", "onnxruntime_backend", "OnnxRuntimeDetector", (".onnx",),
            "pip install 'lsnet-trt[onnx]'"),
    Backend("onnxruntime-cuda", "onnxruntime_backend", "OnnxRuntimeDetector", (".onnx",),
            "pip install onnxruntime-gpu", {"device": "cuda"}),
    Backend("onnxruntime-tensorrt", "onnxruntime_backend", "OnnxRuntimeDetector", (".onnx",),
            "pip install onnxruntime-gpu (and TensorRT)", {"device": "tensorrt"}),
    Backend("tensorrt", "tensorrt_backend", "TensorRTDetector", (".engine", ".plan"),
            "install TensorRT from NVIDIA (pip index or JetPack) and `pip install 'lsnet-trt[tensorrt]'`"),
    Backend("twins", "twins_backend", "TwinsDetector", (".onnx",),
            "pip install 'lsnet-trt[export]' and build the twins (trt_plugins/README.md)"),
)}
MODEL_SUFFIXES = tuple(dict.fromkeys(s for b in BACKENDS.values() for s in b.suffixes))


def is_patched_onnx(path: str | Path) -> bool:
    """Whether `path` is an ONNX file with our plugin nodes (its metadata says so). False where the
    `onnx` package is missing: ONNX Runtime then says that it cannot run the plugin nodes."""
    path = Path(path)
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return False
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # no onnx package, or not an ONNX file: the backend that opens it says so
        return False
    return PATCHED_METADATA_KEY in onnx_metadata(model)


def backend_for(path: str | Path, backend: str | None = None) -> Backend:
    """The backend that runs `path`: `backend` if given (checked against the file), else by suffix."""
    suffix = Path(path).suffix.lower()
    if backend is not None:
        if backend not in BACKENDS:
            raise LSNetError(f"unknown backend {backend!r} (expected one of {', '.join(BACKENDS)})")
        chosen = BACKENDS[backend]
        if suffix not in chosen.suffixes:
            raise LSNetError(f"backend {backend} cannot run {path} (it runs {' and '.join(chosen.suffixes)} files)")
        return chosen
    if is_patched_onnx(path):
        return BACKENDS["twins"]
    for candidate in BACKENDS.values():
        if suffix in candidate.suffixes:
            return candidate
    raise LSNetError(f"{path} is not a model file: expected {', '.join(MODEL_SUFFIXES)}")


def load(path: str | Path, backend: str | None = None, tight_canvas: bool = False, **options):
    """A `Detector` for a model file (`.pt`, `.onnx`, `.engine`); see `BACKENDS` for `backend`.

    `options` go to the backend, e.g. `device="cuda"` or, for ONNX Runtime, `threads=2`.
    Every backend runs a batch on the model's input size; `tight_canvas=True` (dynamic models
    only) on the smallest canvas holding it (`lsnet.runtime.preprocess.batch_canvas`).
    """
    chosen = backend_for(path, backend)
    if not Path(path).is_file():
        raise LSNetError(f"model file {path} not found")
    constructor = chosen.detector_class().from_file
    options = {**chosen.options, **options}
    try:
        inspect.signature(constructor).bind(str(path), **options)
    except TypeError:
        accepted = [p for p in inspect.signature(constructor).parameters if p != "path"]
        raise LSNetError(f"backend {chosen.name} does not take the options {sorted(options)} "
                         f"(it takes {', '.join(accepted) or 'none'})") from None
    detector = constructor(str(path), **options)
    if tight_canvas:
        detector.use_tight_canvas(str(path))
    return detector
