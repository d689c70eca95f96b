"""What this machine can run (`lsnet checks`): Python packages, the GPU and its driver, the CUDA
runtime, TensorRT, pycuda, cuda-python, the compiled plugin code, nvcc and CMake — each with what
works, what does not and the one command that fixes it, and which backends can run here.

Quick and side-effect free: package versions come from their metadata, the GPU from the driver
library itself (ctypes), and torch is imported only where a GPU is present (to say whether torch
can use it) or when the PyTorch backend is asked about.
"""
from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from lsnet import __version__
from lsnet.errors import LSNetError

REPO = Path(__file__).resolve().parent.parent
MIN_CMAKE = (3, 22)
BUILD_COMMAND = "cmake -S . -B build -DPython_EXECUTABLE=$(which python) && cmake --build build -j"
CU_COMPUTE_CAPABILITY_MAJOR, CU_COMPUTE_CAPABILITY_MINOR = 75, 76  # CUdevice_attribute


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # the one command (or step) that makes it work; "" where nothing is to be done
    version: str | None = None
    optional: bool = False  # needed only by some backends or tasks: not-ok is not a fault


@dataclass
class Gpu:
    name: str
    compute_capability: str
    memory_gb: float


@dataclass
class Driver:
    """The NVIDIA driver as libcuda reports it; `problem` says why there is no usable GPU."""
    version: str | None = None  # e.g. "580.65.06" (NVML), where known
    cuda: tuple[int, int] | None = None  # the newest CUDA release it runs
    gpus: list[Gpu] = field(default_factory=list)
    problem: str | None = None


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def probe_driver() -> Driver:
    """The driver and its GPUs through libcuda.so.1 (no CUDA runtime, no torch)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return Driver(problem="no NVIDIA driver here (libcuda.so.1 not found)")
    driver = Driver(version=_nvml_driver_version())
    version = ctypes.c_int()
    if cuda.cuDriverGetVersion(ctypes.byref(version)) == 0:
        driver.cuda = (version.value // 1000, version.value % 1000 // 10)
    status = cuda.cuInit(0)
    if status != 0:
        driver.problem = f"the NVIDIA driver does not initialise (CUDA error {status}: {_cuda_error_name(cuda, status)})"
        return driver
    count = ctypes.c_int()
    cuda.cuDeviceGetCount(ctypes.byref(count))
    for index in range(count.value):
        device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        name, memory = ctypes.create_string_buffer(256), ctypes.c_size_t()
        cuda.cuDeviceGet(ctypes.byref(device), index)
        cuda.cuDeviceGetName(name, 256, device)
        cuda.cuDeviceGetAttribute(ctypes.byref(major), CU_COMPUTE_CAPABILITY_MAJOR, device)
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), CU_COMPUTE_CAPABILITY_MINOR, device)
        cuda.cuDeviceTotalMem_v2(ctypes.byref(memory), device)
        driver.gpus.append(Gpu(name.value.decode(), f"{major.value}.{minor.value}", round(memory.value / 2 ** 30, 1)))
    if not driver.gpus:
        driver.problem = "the NVIDIA driver sees no GPU (check CUDA_VISIBLE_DEVICES)"
    return driver


def _cuda_error_name(cuda, status: int) -> str:
    name = ctypes.c_char_p()
    if cuda.cuGetErrorName(status, ctypes.byref(name)) == 0 and name.value:
        return name.value.decode()
    return "unknown"


def _nvml_driver_version() -> str | None:
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() != 0:
            return None
        buffer = ctypes.create_string_buffer(96)
        return buffer.value.decode() if nvml.nvmlSystemGetDriverVersion(buffer, 96) == 0 else None
    except (OSError, AttributeError):
        return None


def is_jetson() -> bool:
    return Path("/etc/nv_tegra_release").is_file()


def tensorrt_install_command(driver: Driver) -> str:
    """How to install TensorRT for this machine's driver (docs/tensorrt.md, "Installing TensorRT")."""
    if is_jetson():
        return "sudo apt-get install nvidia-jetpack (JetPack's TensorRT; make the venv with --system-site-packages)"
    if driver.cuda and driver.cuda[0] >= 13:
        return "pip install tensorrt (TensorRT 11 for CUDA 13; or tensorrt-cu13==10.* for TensorRT 10)"
    if driver.cuda:
        return f"pip install tensorrt-cu12 (this driver runs CUDA {driver.cuda[0]}.{driver.cuda[1]}: not the CUDA-13 default)"
    return "TensorRT needs an NVIDIA GPU and its driver; on a GPU machine see docs/tensorrt.md"


# ---- the checks ------------------------------------------------------------------------------

def check_python() -> Check:
    ok = sys.version_info >= (3, 10)
    return Check("Python", ok, f"{platform.python_implementation()} at {sys.executable}",
                 "" if ok else "Python 3.10 or newer", version=platform.python_version())


def check_package(name: str, extra: str, purpose: str, optional: bool = True) -> Check:
    version = package_version(name)
    if version is None:
        return Check(name, False, f"not installed ({purpose})", f"pip install 'lsnet-trt[{extra}]'", optional=optional)
    return Check(name, True, purpose, version=version, optional=optional)


def torch_cuda_build() -> str | None:
    """The CUDA release torch was built for, read from torch/version.py without importing torch."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    text = (Path(list(spec.submodule_search_locations)[0]) / "version.py").read_text()
    match = re.search(r"^cuda(?::[^=]*)?\s*=\s*'([^']+)'", text, re.M)
    return match.group(1) if match else None


def check_torch(driver: Driver, import_it: bool) -> Check:
    check = check_package("torch", "train", "training, evaluation, the PyTorch backend")
    if not check.ok:
        return check
    built = torch_cuda_build()
    check.detail = f"{'CUDA ' + built if built else 'CPU-only'} build"
    if driver.gpus or import_it:
        try:
            import torch

            usable = torch.cuda.is_available()
        except Exception as e:  # a broken install: say so, do not crash the report
            return Check("torch", False, f"does not import ({type(e).__name__}: {e})", "pip install 'lsnet-trt[train]'",
                         version=check.version, optional=True)
        check.detail += "; runs on the GPU" if usable else "; cannot use a GPU here, runs on the CPU"
        if driver.gpus and not usable:
            check.ok = False
            check.fix = ("install the torch build for this driver's CUDA "
                         f"{'.'.join(map(str, driver.cuda)) if driver.cuda else ''} (pytorch.org, 'Get started')")
    else:
        check.detail += "; no GPU here, so it runs on the CPU"
    return check


def check_onnxruntime() -> Check:
    check = check_package("onnxruntime", "onnx", "the ONNX Runtime backend")
    if not check.ok:
        gpu_build = package_version("onnxruntime-gpu")
        if gpu_build is None:
            return check
        check = Check("onnxruntime", True, "the ONNX Runtime backend", version=gpu_build, optional=True)
    try:
        import onnxruntime

        check.detail += "; providers: " + ", ".join(onnxruntime.get_available_providers())
    except Exception as e:
        return Check("onnxruntime", False, f"does not import ({type(e).__name__}: {e})",
                     "pip install --force-reinstall onnxruntime", version=check.version, optional=True)
    return check


def check_gpu(driver: Driver) -> Check:
    if driver.problem:
        fix = ("install the NVIDIA driver (nvidia-smi must list the GPU)" if "libcuda" in driver.problem
               else "check nvidia-smi and CUDA_VISIBLE_DEVICES")
        return Check("GPU", False, driver.problem + "; PyTorch and ONNX Runtime run on the CPU", fix, optional=True)
    gpus = "; ".join(f"cuda:{i} {g.name} (compute capability {g.compute_capability}, {g.memory_gb} GB)"
                     for i, g in enumerate(driver.gpus))
    runs = f", runs CUDA up to {driver.cuda[0]}.{driver.cuda[1]}" if driver.cuda else ""
    return Check("GPU", True, f"{gpus}; driver {driver.version or 'version unknown'}{runs}")


def cuda_runtime_library() -> Path | None:
    """The CUDA runtime the kernels link: the toolkit's, next to nvcc (or $CUDA_HOME)."""
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")]
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots.append(str(Path(nvcc).resolve().parent.parent))
    roots.append("/usr/local/cuda")
    for root in filter(None, roots):
        for pattern in ("lib64/libcudart.so.*", "lib/libcudart.so.*", "targets/*/lib/libcudart.so.*"):
            found = sorted(glob.glob(str(Path(root) / pattern)))
            if found:
                return Path(found[0])
    return None


def check_cuda_runtime(driver: Driver) -> Check:
    library = cuda_runtime_library()
    if library is None:
        return Check("CUDA runtime", False, "no CUDA toolkit found (libcudart next to nvcc or in /usr/local/cuda)",
                     "install the CUDA toolkit your driver runs (developer.nvidia.com/cuda-downloads)", optional=True)
    version = ctypes.c_int()
    try:
        ctypes.CDLL(str(library)).cudaRuntimeGetVersion(ctypes.byref(version))
    except (OSError, AttributeError) as e:
        return Check("CUDA runtime", False, f"{library} does not load ({e})", "reinstall the CUDA toolkit",
                     optional=True)
    runtime = (version.value // 1000, version.value % 1000 // 10)
    text = f"{runtime[0]}.{runtime[1]}"
    if driver.cuda and driver.cuda < runtime:
        return Check("CUDA runtime", False, f"{library}: the driver runs CUDA up to {driver.cuda[0]}.{driver.cuda[1]}, "
                     "so what this toolkit builds will not run here",
                     "a newer driver, or the CUDA toolkit of the driver's release", version=text, optional=True)
    return Check("CUDA runtime", True, str(library), version=text, optional=True)


def check_tensorrt(driver: Driver) -> tuple[Check, object | None]:
    from lsnet.runtime.tensorrt_setup import import_tensorrt, tensorrt_version

    try:
        trt = import_tensorrt()
    except LSNetError as e:
        reason = str(e).split(" (pip install")[0] if "not installed" in str(e) else str(e)
        return Check("TensorRT", False, reason, tensorrt_install_command(driver), optional=True), None
    detail = "engines build and run here" if driver.gpus else "installed, but there is no usable GPU"
    if tensorrt_version(trt.__version__) < (10, 1):
        detail += "; its ONNX parser cannot import DeformConv (needs 10.1): engines of DCN models do not build"
    return Check("TensorRT", bool(driver.gpus), detail, "" if driver.gpus else "a GPU machine (docs/tensorrt.md)",
                 version=trt.__version__, optional=True), trt


def check_pycuda(driver: Driver) -> Check:
    version = package_version("pycuda")
    fix = "pip install 'lsnet-trt[tensorrt]' (builds against the CUDA toolkit: nvcc on PATH)"
    if version is None:
        return Check("pycuda", False, "not installed (the TensorRT backend's buffers and streams)", fix, optional=True)
    try:
        import pycuda.driver  # noqa: F401  (loads libcuda)
    except ImportError as e:
        return Check("pycuda", False, f"does not import ({e})", "a GPU machine with the NVIDIA driver",
                     version=version, optional=True)
    return Check("pycuda", True, "the TensorRT backend's buffers and streams", version=version, optional=True)


def check_cuda_python() -> Check:
    from lsnet.runtime.backends.cuda_graph import driver_bindings

    version = package_version("cuda-python") or package_version("cuda-bindings")
    try:
        driver_bindings()
    except LSNetError:
        return Check("cuda-python", False, "not installed (CUDA graphs: cuda_graph=True)", "pip install cuda-python",
                     optional=True)
    return Check("cuda-python", True, "CUDA graphs (cuda_graph=True)", version=version, optional=True)


def check_compiled_modules() -> list[Check]:
    from lsnet.plugins import load_cuda_kernels, load_twins

    checks = []
    for name, load, purpose, needs_nvcc in (("plugin CPU twins", load_twins, "lsnet_twins: the plugin math on the CPU",
                                             False),
                                            ("CUDA kernels module", load_cuda_kernels,
                                             "lsnet_cuda: the plugin kernels without TensorRT", True)):
        try:
            module = load()
        except LSNetError as e:
            fix = BUILD_COMMAND if not needs_nvcc or shutil.which("nvcc") else "nvcc (the CUDA toolkit), then " + BUILD_COMMAND
            checks.append(Check(name, False, str(e).split(";")[0], fix, optional=True))
            continue
        detail = f"{purpose} ({module.__file__})"
        if needs_nvcc:
            try:
                detail += f"; {module.device_count()} GPU(s) usable"
            except RuntimeError as e:
                detail += f"; no GPU to run on ({e})"
        checks.append(Check(name, True, detail, optional=True))
    return checks


def check_plugin_library(trt) -> Check:
    from lsnet.plugins import find_plugin_library

    fix = ("cmake -S . -B build -DTensorRT_ROOT=<TensorRT headers> && cmake --build build -j "
           "(needs nvcc; docs/tensorrt.md, 'TensorRT headers')")
    try:
        library = find_plugin_library()
    except LSNetError as e:
        return Check("plugin library", False, str(e).split(" (looked at")[0] + " (needed by patched engines)", fix,
                     optional=True)
    try:
        ctypes.CDLL(str(library))
    except OSError as e:
        return Check("plugin library", False, f"{library} does not load ({e})", fix, optional=True)
    if trt is None:
        return Check("plugin library", True, f"{library} loads; its creators not checked (no TensorRT)", optional=True)
    from lsnet.runtime.tensorrt_setup import load_plugins, tensorrt_logger

    try:
        load_plugins(trt, tensorrt_logger(trt), library)
    except LSNetError as e:
        return Check("plugin library", False, str(e), fix, optional=True)
    return Check("plugin library", True, f"{library}: LSNetPyramidDCN and LSNetDecode registered with TensorRT",
                 optional=True)


def _tool_version(command: list[str], pattern: str) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, out)
    return match.group(1) if match else None


def default_cuda_architectures(nvcc_release: str) -> str | None:
    """What the build would pick (cmake/LsnetCudaArchitectures.cmake), where cmake and the rule are here."""
    rule = REPO / "cmake" / "LsnetCudaArchitectures.cmake"
    if not rule.is_file() or shutil.which("cmake") is None:
        return None
    try:
        result = subprocess.run(["cmake", f"-DNVCC_VERSION={nvcc_release}", "-P", str(rule)], capture_output=True,
                                text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"architectures=(\S*)", result.stderr)
    return match.group(1) if match else None


def check_nvcc() -> Check:
    nvcc = shutil.which("nvcc")
    release = _tool_version([nvcc, "--version"], r"release (\d+\.\d+)") if nvcc else None
    if release is None:
        return Check("nvcc", False, "not on PATH (the CUDA kernels and the plugin library are not built)",
                     "install the CUDA toolkit and put its bin/ on PATH (JetPack: /usr/local/cuda/bin)", optional=True)
    archs = default_cuda_architectures(release)
    where = f"{nvcc}" + (f"; default architectures without a GPU: {archs}" if archs else "")
    return Check("nvcc", True, where, version=release, optional=True)


def check_cmake() -> Check:
    cmake = shutil.which("cmake")
    release = _tool_version([cmake, "--version"], r"cmake version (\d+\.\d+(?:\.\d+)?)") if cmake else None
    if release is None:
        return Check("CMake", False, "not found (builds the plugin code)", "pip install 'cmake>=3.22'", optional=True)
    ok = tuple(int(p) for p in release.split(".")[:2]) >= MIN_CMAKE
    return Check("CMake", ok, cmake if ok else f"{cmake}: lsnet needs 3.22 or newer",
                 "" if ok else "pip install 'cmake>=3.22'", version=release, optional=True)


# ---- backends ---------------------------------------------------------------------------------

@dataclass
class BackendStatus:
    runs: bool
    device: str | None
    reason: str  # what it runs on, or why it cannot run here


def backend_status(checks: dict[str, Check], driver: Driver) -> dict[str, BackendStatus]:
    """Which backends run here, on what, or why not (from the checks and the driver)."""
    def missing(*names: str, gpu: bool = False) -> str | None:
        reasons = [driver.problem] if gpu and driver.problem else []
        for name in names:
            detail = checks[name].detail
            if not checks[name].ok:
                reasons.append(detail if detail.startswith(name) else f"{name} {detail}")
        return "; ".join(reasons) or None

    providers = checks["onnxruntime"].detail if checks["onnxruntime"].ok else ""
    torch_gpu = checks["torch"].ok and "runs on the GPU" in checks["torch"].detail
    reasons = {"pytorch": (missing("torch"), "cuda" if torch_gpu else "cpu"),
               "onnxruntime": (missing("onnxruntime"), "cpu")}
    for name, provider in (("onnxruntime-cuda", "CUDAExecutionProvider"),
                           ("onnxruntime-tensorrt", "TensorrtExecutionProvider")):
        no_provider = None if provider in providers else f"ONNX Runtime has no {provider} (pip install onnxruntime-gpu)"
        why = "; ".join(filter(None, (missing("onnxruntime", gpu=True), no_provider))) or None
        reasons[name] = (why, "cuda")
    reasons["tensorrt"] = (missing("TensorRT", "pycuda", gpu=True), "cuda")
    reasons["twins"] = (missing("onnx", "onnxruntime", "plugin CPU twins"), "cpu")  # a patched ONNX on the CPU
    status = {}
    for name, (why, device) in reasons.items():
        where = {"cpu": "CPU", "cuda": "GPU"}[device]
        if name == "tensorrt" and not checks["plugin library"].ok:
            where += " (portable engines only: the plugin library is missing)"
        status[name] = BackendStatus(why is None, None if why else device, why or where)
    return status


@dataclass
class Report:
    lsnet: str
    checks: list[Check]
    backends: dict[str, BackendStatus]

    def to_dict(self) -> dict:
        return {"lsnet": self.lsnet, "checks": [asdict(c) for c in self.checks],
                "backends": {name: asdict(s) for name, s in self.backends.items()}}


def run_checks(import_torch: bool = False) -> Report:
    """Every check; `import_torch` imports torch even without a GPU (to see that it imports)."""
    driver = probe_driver()
    tensorrt, trt = check_tensorrt(driver)
    checks = [check_python(), check_torch(driver, import_torch),
              check_package("torchvision", "train", "the model's DCN and NMS"),
              check_package("onnx", "export", "ONNX export and patching"), check_onnxruntime(),
              check_gpu(driver), check_cuda_runtime(driver), tensorrt, check_pycuda(driver), check_cuda_python(),
              check_plugin_library(trt), *check_compiled_modules(), check_nvcc(), check_cmake()]
    by_name = {c.name: c for c in checks}
    return Report(__version__, checks, backend_status(by_name, driver))
