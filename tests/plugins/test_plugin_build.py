"""The top-level CMake build: twins with the host compiler, every .cu with nvcc (compile only here),
the kernels' Python module, and — wherever CMake found TensorRT headers ($TensorRT_ROOT, JetPack's
system headers) — the plugin library with its two exported entry points."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CUDA_SOURCES = sorted(p.name for p in (REPO / "trt_plugins").rglob("*.cu"))
HEADERS_MISSING = "CUDA found, TensorRT headers not found"

pytestmark = pytest.mark.slow


def cmake(*args, cwd=REPO) -> str:
    result = subprocess.run(["cmake", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """(build folder, configure output)."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    folder = tmp_path_factory.mktemp("build")
    options = [f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_CUDA_ARCHITECTURES=87"]
    if os.environ.get("TensorRT_ROOT"):
        options.append(f"-DTensorRT_ROOT={os.environ['TensorRT_ROOT']}")
    configured = cmake("-S", str(REPO), "-B", str(folder), *options)
    cmake("--build", str(folder), "-j2")
    return folder, configured


@pytest.fixture(scope="module")
def build_dir(build):
    return build[0]


@pytest.fixture(scope="module")
def plugin_library(build_dir):
    library = build_dir / "trt_plugins" / "liblsnet_trt_plugins.so"
    if not library.is_file():
        pytest.skip("the plugin library was not built: CMake found no TensorRT headers (set TensorRT_ROOT)")
    return library


def test_twins_and_python_module_build(build_dir):
    assert (build_dir / "trt_plugins" / "liblsnet_twins_core.a").is_file()
    assert list((build_dir / "trt_plugins" / "python").glob("lsnet_twins*.so"))


def test_every_cuda_source_compiles_with_nvcc(build_dir):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    objects = {p.name for p in build_dir.rglob("*.cu.o")}
    assert {f"{name}.o" for name in CUDA_SOURCES} <= objects, objects
    assert (build_dir / "trt_plugins" / "liblsnet_kernels.a").is_file()


def test_the_kernels_module_builds_imports_and_refuses_cleanly_without_a_driver(build_dir):
    """lsnet_cuda is built wherever nvcc is; on a machine without a usable GPU it imports, and every
    call that needs the device raises CUDA's own error instead of crashing."""
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    (module,) = (build_dir / "trt_plugins" / "python").glob("lsnet_cuda*.so")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import lsnet_cuda\n"
            "try:\n    print('devices', lsnet_cuda.device_count())\nexcept RuntimeError as e:\n    print('error', e)\n"
            "try:\n    lsnet_cuda.pyramid_dcn(0, 0, 0, 0, 0, [1, 4, 8, 8], [1, 17, 8, 8], [4, 4, 3, 3])\n"
            "except ValueError as e:\n    print('invalid', e)\n")
    result = subprocess.run([sys.executable, "-c", code, str(module.parent)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "invalid LSNetPyramidDCN: offset must be [B, 18, H, W] with B = input batch (1), got [1, 17, 8, 8]"
    if lines[0].startswith("devices") and int(lines[0].split()[1]) > 0:
        pytest.skip("a GPU is usable here: tests/plugins/test_cuda_kernels.py runs the kernels")
    assert lines[0].startswith("error cudaGetDeviceCount: cudaError"), lines[0]


def test_missing_tensorrt_headers_are_a_visible_warning_with_where_to_get_them(build):
    folder, configured = build
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH: without CUDA the plugin library is not expected")
    if (folder / "trt_plugins" / "liblsnet_trt_plugins.so").is_file():
        pytest.skip("CMake found TensorRT headers here")
    assert "CMake Warning" in configured and HEADERS_MISSING in configured
    text = " ".join(configured.split())
    for where in ("TensorRT tar package", "JetPack", "https://github.com/NVIDIA/TensorRT", "-DTensorRT_ROOT="):
        assert where in text, where


def test_plugin_library_exports_only_the_loader_entry_points(plugin_library):
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(plugin_library)], capture_output=True, text=True).stdout
    exported = {line.split()[-1] for line in symbols.splitlines() if " T " in line}
    assert exported == {"getCreators", "setLoggerFinder"}


def test_plugin_contract_holds_through_tensorrt_build_time_calls(build_dir, plugin_library):
    result = subprocess.run([str(build_dir / "lsnet_plugin_contract_test")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_tensorrt_root_is_honoured_on_reconfigure(tmp_path):
    """CMake caches what find_path found; a new TensorRT_ROOT must search again (CXX-only configure)."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    roots = {}
    for release in ("10.3", "11.1"):  # a header file is all find_path looks for
        (tmp_path / release / "include").mkdir(parents=True)
        (tmp_path / release / "include" / "NvInferRuntime.h").write_text("// stand-in for the search only\n")
        roots[release] = tmp_path / release
    folder = tmp_path / "build"
    fast = ["-DLSNET_BUILD_CUDA=OFF", "-DLSNET_BUILD_TWINS=OFF", "-DLSNET_BUILD_PYTHON=OFF"]
    for root in (roots["10.3"], roots["11.1"], tmp_path / "nothing-here"):
        output = cmake("-S", str(REPO), "-B", str(folder), f"-DTensorRT_ROOT={root}", *fast)
        found = root / "include" if root.exists() else "TensorRT_INCLUDE_DIR-NOTFOUND"
        assert f"trt=OFF ({found})" in output, output[-2000:]
