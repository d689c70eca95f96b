"""The default CUDA architectures (cmake/LsnetCudaArchitectures.cmake, run here with `cmake -P`) for the
nvcc releases users have — 11.8, 12.6 (JetPack 6), 12.8, 13.0 — each checked against what that
nvcc can target, and the architectures picked for the nvcc on this machine compiled for real."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULE = REPO / "cmake" / "LsnetCudaArchitectures.cmake"

# What each nvcc release can target (`nvcc --list-gpu-arch` of that release; CUDA release notes):
# 12.0 dropped sm_35/37, 12.8 added Blackwell (100, 101, 120), 13.0 dropped everything below
# Turing and renamed Thor's 101 to 110.
NVCC_TARGETS = {
    "11.8": {35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90},
    "12.6": {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90},
    "12.8": {50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 120},
    "13.0": {75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121},
}
TURING_TO_HOPPER = [75, 80, 86, 87, 89, 90]

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")


def default_architectures(nvcc: str, cmake: str = "3.22", gpu: str = "", driver_cuda: str = "",
                          nvcc_archs: str = "") -> str:
    result = subprocess.run(["cmake", f"-DNVCC_VERSION={nvcc}", f"-DCMAKE_FOR={cmake}", f"-DGPU={gpu}",
                             f"-DDRIVER_CUDA={driver_cuda}", f"-DNVCC_ARCHS={nvcc_archs}", "-P", str(RULE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return re.search(r"architectures=(.*)", result.stderr).group(1)


@pytest.mark.parametrize("nvcc, expected", [
    ("11.8", TURING_TO_HOPPER),
    ("12.6", TURING_TO_HOPPER),  # JetPack 6: no sm_100 / sm_120 before nvcc 12.8
    ("12.8", TURING_TO_HOPPER + [100, 120]),
    ("13.0", TURING_TO_HOPPER + [100, 120]),
])
def test_defaults_without_a_gpu_are_what_that_nvcc_can_target(nvcc, expected):
    archs = [int(a) for a in default_architectures(nvcc).split(";")]
    assert archs == expected
    assert set(archs) <= NVCC_TARGETS[nvcc]


def test_a_jetson_orin_on_cmake_3_22_builds_for_its_own_gpu_only():
    assert default_architectures("12.6", cmake="3.22", gpu="87") == "87"


@pytest.mark.parametrize("cmake, nvcc, driver_cuda, expected", [
    ("3.24", "13.0", "13.0", "native"),  # CMake finds the GPUs itself
    ("3.28", "12.6", "", "native"),
    ("3.22", "13.0", "13.0", "90"),  # no `native` before CMake 3.24: the GPU's own architecture
    ("3.28", "13.0", "12.4", "90"),  # CMake's detection would need a CUDA-13 driver
])
def test_native_where_cmake_and_the_driver_allow(cmake, nvcc, driver_cuda, expected):
    assert default_architectures(nvcc, cmake=cmake, gpu="90", driver_cuda=driver_cuda) == expected


def test_a_gpu_seen_without_its_capability_falls_back_to_the_list_on_old_cmake():
    assert default_architectures("12.6", cmake="3.22", gpu="present") == "75;80;86;87;89;90"


def test_what_nvcc_itself_lists_bounds_the_defaults():
    """A future nvcc that drops an architecture drops it from the defaults."""
    assert default_architectures("14.0", nvcc_archs="80;86;87;89;90;100;120") == "80;86;87;89;90;100;120"


def local_nvcc() -> tuple[str, set[int]]:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not on PATH")
    release = re.search(r"release (\d+\.\d+)", subprocess.run([nvcc, "--version"], capture_output=True,
                                                               text=True).stdout).group(1)
    listed = subprocess.run([nvcc, "--list-gpu-arch"], capture_output=True, text=True).stdout
    return release, {int(a) for a in re.findall(r"compute_(\d+)", listed)}


def test_the_table_of_nvcc_targets_matches_the_local_nvcc():
    release, listed = local_nvcc()
    if release not in NVCC_TARGETS:
        pytest.skip(f"nvcc {release} here; the table knows {', '.join(NVCC_TARGETS)}")
    assert listed == NVCC_TARGETS[release]


def test_the_local_nvcc_compiles_for_every_default_architecture(tmp_path):
    release, listed = local_nvcc()
    archs = default_architectures(release, nvcc_archs=";".join(map(str, sorted(listed)))).split(";")
    source = tmp_path / "probe.cu"
    source.write_text("__global__ void probe(float* x) { x[threadIdx.x] = 1.0f; }\n")
    gencode = [f"--generate-code=arch=compute_{a},code=[compute_{a},sm_{a}]" for a in archs]
    result = subprocess.run([shutil.which("nvcc"), "-c", str(source), "-o", str(tmp_path / "probe.o"), *gencode],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
