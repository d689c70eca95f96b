"""TensorRT, pycuda and one GPU, set up together for an engine build or run (docs/tensorrt.md).

`TensorRTSetup.open(device)` is the one object `lsnet.export.engine` (build) and the TensorRT
backend (run) share: the `tensorrt` module, pycuda's driver, the GPU (name, compute capability,
primary context) and the process's TensorRT logger. It also creates TensorRT's Builder and
Runtime, turning the bindings' bare `TypeError` into the likely cause and its fix, and loads the
plugin libraries.

The parts, usable alone (`lsnet checks` reports on each):
- `import_tensorrt()`: the real TensorRT ≥ 10, or an LSNetError that says what to install.
  `tensorrt-stubs` alone makes `import tensorrt` succeed as an empty module, so real TensorRT is
  recognised by its version and its Builder (docs/toolchain.md).
- `load_plugins()`: NVIDIA's plugin library (the ONNX parser maps the towers' DeformConv to its
  ModulatedDeformConv2d) and ours, `liblsnet_trt_plugins.so`, before parsing or deserialising
  (docs/architecture.md §4).
- `open_gpu()`: the GPU's name and compute capability, and its primary context — the one
  TensorRT's CUDA runtime calls use, so buffers allocated through pycuda are valid for TensorRT.

Nothing imports TensorRT or pycuda at module level, so `lsnet.runtime` imports without them.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

from lsnet.errors import LSNetError
from lsnet.plugins import DECODE_PLUGIN, PLUGIN_NAMESPACE, PLUGIN_VERSION, PYRAMID_DCN_PLUGIN

MIN_TENSORRT_MAJOR = 10  # IPluginV3 and the tensor-address execution API
NOT_INSTALLED = ("TensorRT is not installed here (pip install tensorrt-cu12 or tensorrt from NVIDIA's index on x86-64, "
                 "or JetPack on Jetson; docs/tensorrt.md); use the .onnx with ONNX Runtime instead")
# The oldest Linux driver branch that runs each CUDA major release (NVIDIA's CUDA release notes).
MIN_DRIVER = {12: "R525", 13: "R580"}
# The creators liblsnet_trt_plugins.so registers (trt_plugins/README.md).
PLUGIN_CREATORS = (PYRAMID_DCN_PLUGIN, DECODE_PLUGIN)


def tensorrt_version(version: str) -> tuple[int, int]:
    """(major, minor) of a TensorRT version string such as "10.3.0.30"."""
    match = re.match(r"(\d+)\.(\d+)", str(version))
    if not match:
        raise LSNetError(f"cannot read the TensorRT version {version!r}")
    return int(match.group(1)), int(match.group(2))


def tensorrt_major(version: str) -> int:
    return tensorrt_version(version)[0]


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


def tensorrt_cuda_major() -> int | None:
    """The CUDA major release the installed TensorRT wheels are built for (tensorrt-cu12 → 12), if known."""
    for dist in metadata.distributions():
        match = re.fullmatch(r"tensorrt[-_]cu(\d+)(?:[-_].*)?", (dist.metadata["Name"] or "").lower())
        if match:
            return int(match.group(1))
    return None


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


@dataclass(frozen=True)
class TensorRTSetup:
    """TensorRT, pycuda's driver, one GPU and the process's TensorRT logger, opened together."""

    trt: ModuleType
    cuda: ModuleType  # pycuda.driver
    gpu: Gpu
    logger: object

    @classmethod
    def open(cls, device: str | int | None = "cuda", verbose: bool = False) -> "TensorRTSetup":
        """TensorRT ≥ 10, pycuda and the GPU `device`; LSNetError naming what is missing."""
        trt = import_tensorrt()
        cuda = import_pycuda()
        gpu = open_gpu(cuda, cuda_device_index(device))
        return cls(trt, cuda, gpu, tensorrt_logger(trt, verbose))

    @property
    def version(self) -> str:
        return self.trt.__version__

    @property
    def strongly_typed(self) -> bool:
        """TensorRT 11 builds every network strongly typed (no builder precision flags)."""
        return tensorrt_major(self.version) >= 11

    @contextmanager
    def current(self) -> Iterator[None]:
        """The GPU's primary context made current: TensorRT's and pycuda's CUDA calls bind to it."""
        self.gpu.context.push()
        try:
            yield
        finally:
            self.cuda.Context.pop()

    def load_plugins(self, library: Path | None) -> None:
        load_plugins(self.trt, self.logger, library)

    def builder(self):
        return self._create(self.trt.Builder, "Builder")

    def runtime(self):
        return self._create(self.trt.Runtime, "Runtime")

    def _create(self, factory, what: str):
        try:
            return factory(self.logger)
        except TypeError as e:  # pybind11: "factory function returned nullptr"
            raise LSNetError(cannot_create_message(what, self.version, str(e), self._driver_cuda(),
                                                   tensorrt_cuda_major())) from None

    def _driver_cuda(self) -> tuple[int, int] | None:
        try:
            version = int(self.cuda.get_driver_version())  # e.g. 12040
        except Exception:  # an old or broken driver: the message then goes without it
            return None
        return version // 1000, version % 1000 // 10


def cannot_create_message(what: str, version: str, detail: str, driver_cuda: tuple[int, int] | None,
                          trt_cuda: int | None) -> str:
    """Why trt.Builder / trt.Runtime could not be created, and the fix, in one line."""
    driver = f"this driver runs CUDA up to {driver_cuda[0]}.{driver_cuda[1]}" if driver_cuda else None
    built = f"this TensorRT is built for CUDA {trt_cuda}" if trt_cuda else None
    if driver_cuda and trt_cuda and driver_cuda[0] < trt_cuda:
        needs = f" ({MIN_DRIVER[trt_cuda]} or newer)" if trt_cuda in MIN_DRIVER else ""
        cause = (f"{built} but {driver}: install the TensorRT for CUDA {driver_cuda[0]} "
                 f"(pip install tensorrt-cu{driver_cuda[0]}) or a driver for CUDA {trt_cuda}{needs}")
    else:
        known = "; ".join(filter(None, (built, driver)))
        cause = ("the usual causes are a driver too old for this TensorRT's CUDA (pip install tensorrt brings "
                 "TensorRT for CUDA 13, which needs driver R580+; use pip install tensorrt-cu12 with an older driver) "
                 "or no GPU visible to this process (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
                 + (f" ({known})" if known else ""))
    return f"TensorRT {version} could not create its {what} ({detail}): {cause}"
