"""scripts/gpu_check.sh and scripts/gpu_check.py: on a machine without a GPU the check writes a report
that says so (exit 0, nothing measured, nothing faked); the report reads pytest's own results; the
packages it installs from a wheel folder cover the project's requirements."""
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("gpu_check", REPO / "scripts" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(gpu_check)

GPU_PARTS = ("build", "tests", "pyramid_dcn", "pytorch_model", "tensorrt_engine", "training")


def test_without_a_gpu_the_check_reports_that_nothing_gpu_side_ran(tmp_path):
    if shutil.which("nvidia-smi") or Path("/etc/nv_tegra_release").exists():
        pytest.skip("a GPU driver is here: the check would run for minutes (scripts/gpu_check.sh)")
    result = subprocess.run([str(REPO / "scripts" / "gpu_check.sh"), "--out", str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "gpu-report.json").read_text())
    assert report["format"] == "lsnet-gpu-check" and report["no_gpu"].startswith("no NVIDIA driver")
    assert report["gpu"] is None
    for part in GPU_PARTS:
        assert report[part] == {"not_run": f"no GPU: {report['no_gpu']}"}, part
    assert len(report["not_run"]) == len(GPU_PARTS)
    assert report["checks"]["backends"]["onnxruntime"]["runs"]
    text = (tmp_path / "gpu-report.md").read_text()
    assert f"**No GPU here: {report['no_gpu']}.** Nothing GPU-side ran" in text
    assert "## What did not run, and why" in text
    assert not re.search(r"\bms\b|TFLOP/s|iterations/s", text)  # no figure without a GPU


def test_the_report_counts_pytests_own_results(tmp_path):
    tests = tmp_path / "test_sample.py"
    tests.write_text("import pytest\n\ndef test_passes():\n    pass\n\ndef test_fails():\n    assert 1 == 2\n\n"
                     "@pytest.mark.skip(reason='needs a CUDA GPU')\ndef test_a():\n    pass\n\n"
                     "@pytest.mark.skip(reason='needs a CUDA GPU')\ndef test_b():\n    pass\n")
    xml = tmp_path / "pytest.xml"
    subprocess.run([sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider", "--junitxml", str(xml)],
                   capture_output=True, cwd=tmp_path, timeout=120)
    results = gpu_check.pytest_results(xml)
    assert (results["passed"], results["failed"], results["errors"], results["skipped"]) == (1, 1, 0, 2)
    assert results["failures"][0]["test"].endswith("::test_fails")
    assert {s["reason"] for s in results["skips"]} == {"needs a CUDA GPU"}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_what_the_check_installs_covers_the_projects_requirements():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    needed = {requirement_name(r) for r in project["dependencies"]}
    for extra in ("onnx", "train", "export", "quantize", "dev"):
        needed |= {requirement_name(r) for r in extras[extra] if not r.startswith("lsnet-trt")}
    assert needed == {requirement_name(r) for r in gpu_check.REQUIREMENTS.values()}


@pytest.mark.parametrize("times, median, p90", [([5.0, 1.0], 3.0, 5.0), (list(map(float, range(1, 11))), 5.5, 9.0)])
def test_latency_summary_uses_the_median_and_the_nearest_rank_p90(times, median, p90):
    result = gpu_check.summary(times)
    assert (result["median_ms"], result["p90_ms"], result["runs"]) == (median, p90, len(times))
