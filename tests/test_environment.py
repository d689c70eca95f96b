"""`lsnet checks` (lsnet/environment.py, lsnet/commands/checks.py): on this machine a true report —
each line checked against an independent probe of the same thing — exit codes per backend, the
JSON, and that torch is not imported to report on it."""
import json
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

from lsnet.cli import main
from lsnet.environment import Check, Driver, Gpu, backend_status, tensorrt_install_command, torch_cuda_build
from lsnet.runtime.backends import BACKENDS


def has_gpu() -> bool:
    """An independent probe: what torch (a CUDA build) sees."""
    import torch

    return torch.cuda.is_available()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("checks") / "checks.json"
    assert main(["checks", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    return data, {c["name"]: c for c in data["checks"]}


def test_the_report_is_true_on_this_machine(report):
    data, checks = report
    assert checks["Python"]["version"] == platform.python_version() and checks["Python"]["ok"]
    for package in ("torch", "torchvision", "onnx", "onnxruntime"):
        assert checks[package]["version"] == metadata.version(package), package
    nvcc = shutil.which("nvcc")
    assert checks["nvcc"]["ok"] == (nvcc is not None)
    if nvcc:
        release = re.search(r"release (\d+\.\d+)", subprocess.run([nvcc, "--version"], capture_output=True,
                                                                   text=True).stdout).group(1)
        assert checks["nvcc"]["version"] == release
    cmake = subprocess.run(["cmake", "--version"], capture_output=True, text=True).stdout.split()[2]
    assert checks["CMake"]["version"] == cmake
    assert checks["GPU"]["ok"] == has_gpu()
    assert data["backends"]["onnxruntime"] == {"runs": True, "device": "cpu", "reason": "CPU"}
    assert set(data["backends"]) == set(BACKENDS)
    for check in data["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix", "version", "optional"}
        assert check["ok"] or check["fix"], f"{check['name']} fails without a fix"


def test_the_text_report_names_every_check_and_backend(capsys, report):
    _, checks = report
    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    for name in checks:
        assert re.search(rf"^  (ok|--|NO)  {re.escape(name)} ", out, re.M), name
    for name in BACKENDS:
        assert re.search(rf"^  (ok|--)  {re.escape(name)} ", out, re.M), name


def test_a_backend_that_runs_here_exits_0(capsys):
    assert main(["checks", "--backend", "onnxruntime"]) == 0


def test_a_backend_that_cannot_run_here_is_one_line_and_non_zero(capsys, report):
    data, _ = report
    if data["backends"]["tensorrt"]["runs"]:
        pytest.skip("TensorRT runs here")
    assert main(["checks", "--backend", "tensorrt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the tensorrt backend cannot run here: ") and err.count("\n") == 1
    if not has_gpu():
        assert "no NVIDIA driver" in err or "no GPU" in err or "does not initialise" in err


def test_checks_do_not_import_torch_where_there_is_no_gpu():
    if has_gpu():
        pytest.skip("with a GPU, checks import torch to say whether torch can use it")
    code = "import sys; from lsnet.cli import main; main(['checks', '--json']); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout.rsplit("\n", 2)[0])  # the JSON on stdout, then the probe's answer
    assert result.stdout.strip().endswith("False")


def test_torchs_cuda_build_is_read_without_importing_it():
    import torch

    assert torch_cuda_build() == torch.version.cuda


@pytest.mark.parametrize("cuda, command", [((13, 0), "pip install tensorrt "), ((12, 4), "pip install tensorrt-cu12"),
                                           (None, "needs an NVIDIA GPU")])
def test_tensorrt_is_installed_for_the_drivers_cuda(cuda, command, monkeypatch):
    monkeypatch.setattr("lsnet.environment.is_jetson", lambda: False)
    assert command in tensorrt_install_command(Driver(cuda=cuda))


def test_with_a_gpu_tensorrt_and_pycuda_the_tensorrt_backend_runs():
    names = ("torch", "onnx", "onnxruntime", "TensorRT", "pycuda", "plugin library", "plugin CPU twins")
    checks = {n: Check(n, True, "fine") for n in names}
    driver = Driver(cuda=(12, 6), gpus=[Gpu("Orin", "8.7", 30.0)])
    assert backend_status(checks, driver)["tensorrt"].runs
    checks["pycuda"] = Check("pycuda", False, "not installed")
    status = backend_status(checks, driver)["tensorrt"]
    assert not status.runs and status.reason == "pycuda not installed"
