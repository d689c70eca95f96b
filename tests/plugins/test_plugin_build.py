"""The top-level CMake build: twins with the host compiler, every .cu with nvcc (compile only here),
and, given TensorRT headers ($TensorRT_ROOT), the plugin library with its two exported entry points."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CUDA_SOURCES = sorted(p.name for p in (REPO / "trt_plugins").rglob("*.cu"))

pytestmark = pytest.mark.slow


def cmake(*args, cwd=REPO):
    result = subprocess.run(["cmake", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    build = tmp_path_factory.mktemp("build")
    options = [f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_CUDA_ARCHITECTURES=87"]
    if os.environ.get("TensorRT_ROOT"):
        options.append(f"-DTensorRT_ROOT={os.environ['TensorRT_ROOT']}")
    cmake("-S", str(REPO), "-B", str(build), *options)
    cmake("--build", str(build), "-j2")
    return build


def test_twins_and_python_module_build(build_dir):
    assert (build_dir / "trt_plugins" / "liblsnet_twins_core.a").is_file()
    assert list((build_dir / "trt_plugins" / "python").glob("lsnet_twins*.so"))


def test_every_cuda_source_compiles_with_nvcc(build_dir):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    objects = {p.name for p in build_dir.rglob("*.cu.o")}
    assert {f"{name}.o" for name in CUDA_SOURCES} <= objects, objects
    assert (build_dir / "trt_plugins" / "liblsnet_kernels.a").is_file()


def test_plugin_library_exports_only_the_loader_entry_points(build_dir):
    if not os.environ.get("TensorRT_ROOT"):
        pytest.skip("set TensorRT_ROOT to TensorRT headers to build liblsnet_trt_plugins.so")
    library = build_dir / "trt_plugins" / "liblsnet_trt_plugins.so"
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in symbols.splitlines() if " T " in line}
    assert exported == {"getCreators", "setLoggerFinder"}


def test_plugin_contract_holds_through_tensorrt_build_time_calls(build_dir):
    if not os.environ.get("TensorRT_ROOT"):
        pytest.skip("set TensorRT_ROOT to TensorRT headers to build lsnet_plugin_contract_test")
    result = subprocess.run([str(build_dir / "lsnet_plugin_contract_test")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
