"""Finding the compiled plugin code (trt_plugins/README.md).

- `load_twins()` imports `lsnet_twins`, the CPU twins of the TensorRT plugins (same math headers
  as the CUDA kernels), built by the top-level CMakeLists.txt; tests compare it with PyTorch.
- `load_cuda_kernels()` imports `lsnet_cuda`, the plugins' CUDA kernels on device pointers (built
  where nvcc is); GPU tests compare it with torchvision / PyTorch on CUDA, without TensorRT.
- `find_plugin_library()` locates `liblsnet_trt_plugins.so` for the TensorRT engine builder and
  runtime, which load it before parsing or deserialising (docs/architecture.md §4).

No torch, no TensorRT here: the runtime imports this on edge devices.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from pathlib import Path
from types import ModuleType

from lsnet.errors import LSNetError

# The plugins' identity (docs/architecture.md §4): what the library registers, what the patched ONNX names.
PLUGIN_NAMESPACE = "lsnet"
PLUGIN_VERSION = "1"
PYRAMID_DCN_PLUGIN = "LSNetPyramidDCN"
DECODE_PLUGIN = "LSNetDecode"
# The ONNX domain of the plugin nodes: TensorRT's parser looks plugins up by op type, namespace and
# version only (lsnet/export/plugin_nodes.py), so the domain is ours to choose; the twins runner
# finds the plugin nodes by it.
PLUGIN_DOMAIN = "lsnet"
DEFAULT_MAX_CANDIDATES = 4096  # LSNetDecode: candidates per image entering NMS (trt_plugins/decode/README.md)

TWINS_MODULE = "lsnet_twins"
CUDA_MODULE = "lsnet_cuda"
PLUGIN_LIBRARY = "liblsnet_trt_plugins.so"
_REPO = Path(__file__).resolve().parent.parent
_BUILD = _REPO / "build" / "trt_plugins"


def _build_hint() -> str:
    return (f"build it with: cmake -S . -B build -DPython_EXECUTABLE={sys.executable} && cmake --build build -j2 "
            f"(in {_REPO})")


def twins_dirs() -> list[Path]:
    """Where the Python modules are looked for: $LSNET_TWINS_DIR, then build/trt_plugins/python/."""
    env = os.environ.get("LSNET_TWINS_DIR")
    return ([Path(env)] if env else []) + [_BUILD / "python"]


def load_twins() -> ModuleType:
    """The `lsnet_twins` extension module; LSNetError with the build command if it is not built."""
    return _load_module(TWINS_MODULE, "the plugin CPU twins")


def load_cuda_kernels() -> ModuleType:
    """The `lsnet_cuda` extension module; LSNetError with the build command if it is not built."""
    return _load_module(CUDA_MODULE, "the CUDA kernels, built where nvcc is found")


def _load_module(name: str, what: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    for folder in twins_dirs():
        if any((folder / f"{name}{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES):
            sys.path.insert(0, str(folder))
            try:
                return importlib.import_module(name)
            except ImportError as e:
                raise LSNetError(f"{name} in {folder} does not import ({e}); rebuild it for this Python: "
                                 f"{_build_hint()}") from e
            finally:
                sys.path.remove(str(folder))
    searched = ", ".join(str(d) for d in twins_dirs())
    raise LSNetError(f"{name} ({what}) is not built (looked in {searched}); {_build_hint()}")


def find_plugin_library() -> Path:
    """Path of the TensorRT plugin library: $LSNET_PLUGIN_LIB, then next to this package, then build/."""
    env = os.environ.get("LSNET_PLUGIN_LIB")
    if env:
        path = Path(env)
        if not path.is_file():
            raise LSNetError(f"LSNET_PLUGIN_LIB={env} is not a file")
        return path
    candidates = [Path(__file__).resolve().parent / PLUGIN_LIBRARY, _BUILD / PLUGIN_LIBRARY]
    for path in candidates:
        if path.is_file():
            return path
    raise LSNetError(f"{PLUGIN_LIBRARY} not found (looked at $LSNET_PLUGIN_LIB, {', '.join(map(str, candidates))}); "
                     "build it on the target machine with: cmake -S . -B build -DTensorRT_ROOT=<TensorRT> && "
                     "cmake --build build -j2 (trt_plugins/README.md)")
