"""TensorRT and CUDA on this machine, imported only when an engine is built or run.

- `import_tensorrt()`: the real TensorRT ≥ 10, or an LSNetError that says what to install.
  `tensorrt-stubs` alone makes `import tensorrt` succeed as an empty module, so real TensorRT is
  recognised by its version and its Builder (docs/toolchain.md).
- `load_plugins()`: NVIDIA's plugin library (the ONNX parser maps the towers' DeformConv to its
  ModulatedDeformConv2d) and ours, `liblsnet_trt_plugins.so`, before parsing or deserialising
  (docs/architecture.md §4).
- `open_gpu()`: pycuda, the GPU's name and compute capability, and its primary context — the one
  TensorRT's CUDA runtime calls use, so buffers allocated through pycuda are valid for TensorRT.

Used by `lsnet.export.engine` (build) and `tensorrt_backend` (run); nothing imports TensorRT or
pycuda at module level, so `lsnet.runtime` imports without them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lsnet.errors import LSNetError
from lsnet.plugins import DECODE_PLUGIN, PLUGIN_NAMESPACE, PLUGIN_VERSION, PYRAMID_DCN_PLUGIN

MIN_TENSORRT_MAJOR = 10  # IPluginV3 and the tensor-address execution API
NOT_INSTALLED = ("TensorRT is not installed here (pip install tensorrt from NVIDIA's index on x86-64, or JetPack on "
                 "Jetson); use the .onnx with ONNX Runtime instead")
# The creators liblsnet_trt_plugins.so registers (trt_plugins/README.md).
PLUGIN_CREATORS = (PYRAMID_DCN_PLUGIN, DECODE_PLUGIN)


def tensorrt_major(version: str) -> int:
    match = re.match(r"(\d+)\.", str(version))
    if not match:
        raise LSNetError(f"cannot read the TensorRT version {version!r}")
    return int(match.group(1))


def import_tensorrt():
    """The `tensorrt` module, checked to be real TensorRT ≥ 10."""
    try:
        import tensorrt as trt
    except ImportError:
        raise LSNetError(NOT_INSTALLED) from None
    version = getattr(trt, "__version__", None)
    if not isinstance(version, str) or not hasattr(trt, "Builder"):
        raise LSNetError(f"{NOT_INSTALLED} (the `tensorrt` found on the path has no version or Builder, e.g. "
                         "tensorrt-stubs or a folder named tensorrt: not TensorRT)")
    if tensorrt_major(version) < MIN_TENSORRT_MAJOR:
        raise LSNetError(f"TensorRT {version} is too old: lsnet needs TensorRT {MIN_TENSORRT_MAJOR} or newer "
                         "(IPluginV3 plugins, the tensor-address execution API)")
    return trt


_logger = None


def tensorrt_logger(trt, verbose: bool = False):
    """One logger for the process: TensorRT expects the same logger for every builder and runtime."""
    global _logger
    if _logger is None:
        _logger = trt.Logger(trt.Logger.WARNING)
    _logger.min_severity = trt.Logger.INFO if verbose else trt.Logger.WARNING
    return _logger


_loaded_libraries: dict[str, object] = {}  # resolved path → handle: a library is registered once per process


def load_plugins(trt, logger, library: Path | None) -> None:
    """Registers NVIDIA's plugins and, if given, our plugin library; LSNetError if ours is unusable."""
    trt.init_libnvinfer_plugins(logger, "")
    if library is None:
        return
    registry = trt.get_plugin_registry()
    key = str(Path(library).resolve())
    if key not in _loaded_libraries and not _creators_missing(registry):
        return  # registered already, e.g. by the application
    if key not in _loaded_libraries:
        handle = registry.load_library(key)
        if handle is None:
            raise LSNetError(f"TensorRT could not load the plugin library {library} (see TensorRT's message above); "
                             "rebuild it on this machine for this TensorRT and CUDA (trt_plugins/README.md)")
        _loaded_libraries[key] = handle
    missing = _creators_missing(registry)
    if missing:
        raise LSNetError(f"{library} registered no {', '.join(missing)} creator (namespace {PLUGIN_NAMESPACE}, version "
                         f"{PLUGIN_VERSION}); is it liblsnet_trt_plugins.so from this repository?")


def _creators_missing(registry) -> list[str]:
    return [name for name in PLUGIN_CREATORS
            if registry.get_creator(name, PLUGIN_VERSION, PLUGIN_NAMESPACE) is None]


def cuda_device_index(device: str | int | None) -> int:
    """"cuda" / None → 0, "cuda:1" or 1 → 1; LSNetError for anything that is not a CUDA device."""
    if device is None or device == "cuda":
        return 0
    if isinstance(device, int) and device >= 0:
        return device
    match = re.fullmatch(r"cuda:(\d+)", str(device))
    if not match:
        raise LSNetError(f"TensorRT runs on a CUDA GPU: device must be cuda or cuda:N, got {device!r} "
                         "(for the CPU, run the .onnx with ONNX Runtime)")
    return int(match.group(1))


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    compute_capability: tuple[int, int]
    context: object  # pycuda Context: the device's primary context, pushed around every CUDA call


def import_pycuda():
    try:
        import pycuda.driver as cuda
    except ImportError as e:
        raise LSNetError(f"pycuda does not import here ({e}); on the GPU machine: pip install 'lsnet-trt[tensorrt]' "
                         "(pycuda builds against the local CUDA toolkit and driver)") from None
    return cuda


def open_gpu(cuda, index: int) -> Gpu:
    """The GPU `index` with its primary context retained (not pushed)."""
    try:
        cuda.init()
        count = cuda.Device.count()
    except cuda.Error as e:
        raise LSNetError(f"no usable NVIDIA GPU here (CUDA: {e}); TensorRT engines need a GPU and its driver") from None
    if not 0 <= index < count:
        raise LSNetError(f"there is no GPU cuda:{index} (this machine has {count})")
    device = cuda.Device(index)
    return Gpu(index, device.name(), tuple(device.compute_capability()), device.retain_primary_context())
