"""The Python half of scripts/gpu_check.sh (docs/tensorrt.md, "One command for a GPU machine").

    python scripts/gpu_check.py missing              # pip requirements of packages the check needs and lacks
    python scripts/gpu_check.py measure --out DIR    # GPU measurements → DIR/measurements.json
    python scripts/gpu_check.py report --out DIR [--no-gpu REASON] [--seconds S]
                                                     # DIR/gpu-report.md + DIR/gpu-report.json

Measurements (CUDA events, medians after warm-up), each recorded as a result, or as "not run"
with the reason: the pyramid-DCN kernel beside torchvision's deform_conv2d at R-50 head sizes
(256 channels, P3–P7 of 800×1344; FP32 and FP16; ms and achieved TFLOP/s); the PyTorch R-50 model
at 800×1344 (FP32 and AMP); the TensorRT engine of the same model where TensorRT is installed; a
50-iteration AMP training run (iterations/s, peak memory). The R-50 has random weights: its speed
is the point, not its detections.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ElementTree
from importlib.util import find_spec
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Import name → pip requirement of what the check runs on (pyproject's dev extra and the GPU tests'
# cuda-python); missing ones are installed from the wheel folder.
REQUIREMENTS = {
    "numpy": "numpy>=1.24", "cv2": "opencv-python-headless>=4.8,<5", "onnxruntime": "onnxruntime>=1.18",
    "torch": "torch>=2.6,<3", "torchvision": "torchvision>=0.21", "pycocotools": "pycocotools>=2.0.7",
    "matplotlib": "matplotlib>=3.7", "tqdm": "tqdm>=4.60", "yaml": "pyyaml>=6", "onnx": "onnx>=1.16",
    "onnxscript": "onnxscript>=0.2", "onnx_graphsurgeon": "onnx-graphsurgeon>=0.5", "onnxslim": "onnxslim>=0.1.40",
    "pytest": "pytest>=8", "pybind11": "pybind11>=2.12", "skimage": "scikit-image>=0.22",
    "modelopt": "nvidia-modelopt>=0.47", "lief": "lief>=0.14",  # lsnet export quantize (the INT8 engine tests)
}
R50_CANVAS = (800, 1344)
R50_LEVELS = [(100, 168), (50, 84), (25, 42), (13, 21), (7, 11)]  # P3–P7 of 800×1344
R50_CHANNELS = 256
BUDGET_SECONDS = 8 * 60


# ---- timing --------------------------------------------------------------------------------------

def cuda_times_ms(fn, runs: int, warmup: int) -> list[float]:
    """Per-call milliseconds of `fn()` on the current CUDA stream (CUDA events), after `warmup` calls."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return times


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    median = statistics.median(ordered)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    return {"median_ms": round(median, 3), "p90_ms": round(p90, 3),
            "runs": len(ordered), "fps": round(1000.0 / median, 1)}


# ---- measurements ----------------------------------------------------------------------------------

def measure_pyramid_dcn(runs: int = 50, warmup: int = 10) -> dict:
    """Our kernel beside torchvision's deform_conv2d, same call (one level, bias), each level of an R-50 head."""
    import torch
    from torchvision.ops import deform_conv2d

    from lsnet import cuda_kernels

    rows = []
    for dtype in (torch.float32, torch.float16):
        for level, (h, w) in enumerate(R50_LEVELS):
            g = torch.Generator(device="cuda").manual_seed(level)
            x = torch.randn(1, R50_CHANNELS, h, w, device="cuda", generator=g).to(dtype)
            offset = (torch.randn(1, 18, h, w, device="cuda", generator=g) * 2).to(dtype)
            weight = (torch.randn(R50_CHANNELS, R50_CHANNELS, 3, 3, device="cuda", generator=g) / 48).to(dtype)
            bias = torch.randn(R50_CHANNELS, device="cuda", generator=g).to(dtype)
            flop = 2.0 * R50_CHANNELS * R50_CHANNELS * 9 * h * w
            ours = summary(cuda_times_ms(lambda: cuda_kernels.pyramid_dcn(x, offset, weight, bias), runs, warmup))
            theirs = summary(cuda_times_ms(lambda: deform_conv2d(x, offset, weight, bias, padding=1), runs, warmup))
            difference = (cuda_kernels.pyramid_dcn(x, offset, weight, bias).float()
                          - deform_conv2d(x, offset, weight, bias, padding=1).float()).abs().max().item()
            rows.append({"dtype": str(dtype).replace("torch.", ""), "level": f"P{level + 3}", "size": [h, w],
                         "gflop": round(flop / 1e9, 3),
                         "ours_ms": ours["median_ms"], "ours_tflops": round(flop / ours["median_ms"] / 1e9, 2),
                         "torchvision_ms": theirs["median_ms"],
                         "torchvision_tflops": round(flop / theirs["median_ms"] / 1e9, 2),
                         "speedup": round(theirs["median_ms"] / ours["median_ms"], 2),
                         "max_abs_difference": float(f"{difference:.3g}")})
    return {"channels": R50_CHANNELS, "batch": 1, "rows": rows}


def r50_model():
    """A random-weight R-50 LSNet (bbox, 80 classes, DCN towers) and its description, on the GPU."""
    from lsnet.description import ModelDescription
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    model = LSNet(ModelConfig(depth=50, num_classes=80)).cuda().eval()
    description = ModelDescription(task="bbox", class_names=[f"class{i}" for i in range(80)],
                                   input_size=R50_CANVAS)
    return model, description


def measure_pytorch_model(runs: int = 30, warmup: int = 10) -> dict:
    """Network + decode + NMS at 800×1344, batch 1, FP32 and AMP (FP16 autocast of the network)."""
    import torch

    from lsnet.model.decode import LevelOutputs, decode

    model, d = r50_model()
    images = torch.randn(1, 3, *R50_CANVAS, device="cuda")
    torch.backends.cudnn.benchmark = True

    def predict(amp: bool):
        with torch.inference_mode():
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                raw = model(images)
            levels = [LevelOutputs(*(None if t is None else t.float() for t in
                                     (lv.cls_logits, lv.landmark_vectors, lv.box_vectors)))
                      for lv in model.level_outputs(raw)]
            return decode(levels, list(d.strides), R50_CANVAS, num_landmarks=d.num_landmarks,
                          box_source=d.box_source, pre_nms_top_k=d.pre_nms_top_k, score_threshold=d.score_threshold,
                          nms_iou_threshold=d.nms_iou_threshold, max_detections=d.max_detections)

    result = {"model": "R-50 LSNet bbox, 80 classes, DCN towers, random weights", "canvas": list(R50_CANVAS),
              "batch": 1}
    for name, amp in (("fp32", False), ("amp", True)):
        result[name] = summary(cuda_times_ms(lambda: predict(amp), runs, warmup))
    return result


def measure_tensorrt_engine(folder: Path, runs: int = 30, warmup: int = 10) -> dict:
    """The same R-50 exported, patched and built FP16 by `lsnet export engine`, run by the TensorRT backend."""
    import numpy as np

    from lsnet.export.engine import EngineOptions, build_engine
    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.runtime import load
    from lsnet.runtime.tensorrt_setup import import_tensorrt

    import_tensorrt()  # "not installed" is a reason not to run, raised before any work
    model, description = r50_model()
    checkpoint = folder / "r50_random.pt"
    save_checkpoint(checkpoint, model, description)
    engine = folder / "r50_random.engine"
    started = time.perf_counter()
    report = build_engine(checkpoint, engine, EngineOptions(timing_cache=folder / "timing.cache"), log=print)
    build_seconds = time.perf_counter() - started
    detector = load(engine)
    batch = np.random.default_rng(0).standard_normal((1, 3, *R50_CANVAS)).astype(np.float32)
    for _ in range(warmup):
        detector.infer(batch)
    times = []
    for _ in range(runs):  # host → device → host, synchronised per call: the backend's own latency
        start = time.perf_counter()
        detector.infer(batch)
        times.append((time.perf_counter() - start) * 1000)
    return {"engine": report.summary(), "build_seconds": round(build_seconds, 1), "fp16": summary(times),
            "note": "wall time of TensorRTDetector.infer (copies included)"}


def measure_training(folder: Path, iterations: int = 50) -> dict:
    """`lsnet train` on CUDA with AMP: after a 2-iteration warm-up run, a run of 10 iterations and one of
    10 + `iterations`, same set-up; iterations/s from the difference (start-up, final evaluation and
    saves cancel), peak memory of the longer run."""
    import torch

    from lsnet.cli import main
    from lsnet.training.trainer import run as train

    data = folder / "synth"
    if main(["data", "synth", "--task", "bbox", "--out", str(data), "--train", "64", "--val", "4"]) != 0:
        raise RuntimeError("lsnet data synth failed")
    overrides = {"data": str(data), "depth": 50, "imgsz": list(R50_CANVAS), "amp": True, "device": "cuda",
                 "batch": 2, "workers": 4, "eval_interval": 0, "eval_images": 2}
    train(None, {**overrides, "max_iters": 2, "out": str(folder / "warmup")}, resume=False)  # CUDA, cuDNN start-up
    seconds = {}
    for total in (10, 10 + iterations):
        torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        train(None, {**overrides, "max_iters": total, "out": str(folder / f"train{total}")}, resume=False)
        seconds[total] = time.perf_counter() - started
    per_second = iterations / (seconds[10 + iterations] - seconds[10])
    return {"model": "R-50 LSNet bbox, DCN towers, from scratch", "canvas": list(R50_CANVAS), "batch": 2, "amp": True,
            "iterations": iterations, "iterations_per_second": round(per_second, 2),
            "images_per_second": round(2 * per_second, 1),
            "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2),
            "run_seconds": {str(k): round(v, 1) for k, v in seconds.items()}}


def not_run(reason: str) -> dict:
    return {"not_run": reason}


def attempt(name: str, fn, *args) -> dict:
    """One measurement: its result, or why it did not run (a missing package), or its error."""
    print(f"== measuring: {name}", flush=True)
    started = time.perf_counter()
    try:
        result = fn(*args)
    except ImportError as e:
        return not_run(f"a package is missing: {e}")
    except Exception as e:  # record and go on: one failed measurement must not lose the others
        from lsnet.errors import LSNetError

        if isinstance(e, LSNetError) and "not installed" in str(e):
            return not_run(str(e))
        traceback.print_exc()
        return {"error": f"{type(e).__name__}: {e}"}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def cmd_measure(out: Path) -> int:
    try:
        import torch
    except ImportError as e:
        torch = None
        reason = f"torch does not import ({e})"
    if torch is not None and not torch.cuda.is_available():
        reason = f"torch {torch.__version__} (CUDA build {torch.version.cuda}) cannot use a GPU here"
    if torch is None or not torch.cuda.is_available():
        results = {name: not_run(reason) for name in ("pyramid_dcn", "pytorch_model", "tensorrt_engine", "training")}
    else:
        from lsnet.errors import LSNetError
        from lsnet.plugins import load_cuda_kernels

        try:
            load_cuda_kernels()
            kernel = attempt("pyramid-DCN kernel beside torchvision", measure_pyramid_dcn)
        except LSNetError as e:
            kernel = not_run(str(e))
        with tempfile.TemporaryDirectory(prefix="lsnet-gpu-check-") as tmp:
            results = {"pyramid_dcn": kernel,
                       "pytorch_model": attempt("PyTorch R-50 at 800×1344", measure_pytorch_model),
                       "tensorrt_engine": attempt("TensorRT engine of the R-50", measure_tensorrt_engine, Path(tmp)),
                       "training": attempt("50 AMP training iterations", measure_training, Path(tmp))}
    (out / "measurements.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


# ---- the report -------------------------------------------------------------------------------------

def pytest_results(xml: Path) -> dict:
    """Counts, failures and skip reasons from pytest's JUnit XML."""
    root = ElementTree.parse(xml).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    result = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "seconds": 0.0, "failures": [], "skips": []}
    for suite in suites:
        result["seconds"] += float(suite.get("time", 0))
        for case in suite.iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name')}"
            failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
            if failure is not None or error is not None:
                key = "failed" if failure is not None else "errors"
                result[key] += 1
                node = failure if failure is not None else error
                result["failures"].append({"test": name, "message": (node.get("message") or "")[:500]})
            elif skipped is not None:
                result["skipped"] += 1
                result["skips"].append({"test": name, "reason": skipped.get("message", "")})
            else:
                result["passed"] += 1
    result["seconds"] = round(result["seconds"], 1)
    return result


def environment_checks() -> dict | None:
    """`lsnet checks` as JSON, or None where lsnet itself does not import."""
    try:
        from lsnet.environment import run_checks
    except ImportError:
        return None
    return run_checks().to_dict()


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except OSError:
        return None


def gather(out: Path, no_gpu: str | None, seconds: float | None) -> dict:
    checks = json.loads((out / "checks.json").read_text()) if (out / "checks.json").is_file() else None
    checks = checks or environment_checks()
    by_name = {c["name"]: c for c in checks["checks"]} if checks else {}
    report = {"format": "lsnet-gpu-check", "version": 1,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "host": socket.gethostname(), "platform": platform.platform(), "commit": git_commit(),
              "gpu": None if no_gpu else by_name.get("GPU", {}).get("detail"),
              "versions": {name: by_name[name].get("version") for name in
                           ("Python", "torch", "torchvision", "onnxruntime", "TensorRT", "CUDA runtime", "nvcc", "CMake")
                           if name in by_name},
              "checks": checks, "seconds": seconds, "not_run": []}
    gpu_parts = ("build", "tests", "pyramid_dcn", "pytorch_model", "tensorrt_engine", "training")
    if no_gpu:
        report["no_gpu"] = no_gpu
        report.update({part: not_run(f"no GPU: {no_gpu}") for part in gpu_parts})
    else:
        rc = (out / "build.rc").read_text().strip() if (out / "build.rc").is_file() else None
        report["build"] = ({"ok": rc == "0", "log": str(out / "build.log"),
                            "configure": [line for line in (out / "build.log").read_text().splitlines()
                                          if line.startswith("== ")]} if rc is not None else not_run("not reached"))
        report["tests"] = pytest_results(out / "pytest.xml") if (out / "pytest.xml").is_file() else not_run("not reached")
        measured = json.loads((out / "measurements.json").read_text()) if (out / "measurements.json").is_file() else {}
        for part in gpu_parts[2:]:
            report[part] = measured.get(part, not_run("not reached"))
    for part in gpu_parts:
        if "not_run" in report[part]:
            report["not_run"].append(f"{part}: {report[part]['not_run']}")
        elif "error" in report[part]:
            report["not_run"].append(f"{part}: failed — {report[part]['error']}")
    skipped: dict[str, list[str]] = {}
    for skip in report["tests"].get("skips", []):
        skipped.setdefault(skip["reason"], []).append(skip["test"])
    for reason, tests in skipped.items():
        report["not_run"].append(f"{len(tests)} test(s) skipped, e.g. {tests[0]}: {reason}")
    return report


def markdown(report: dict) -> str:
    lines = ["# GPU check", "",
             f"{report['date']} on `{report['host']}` ({report['platform']}), lsnet-trt commit {report['commit']}, "
             f"`scripts/gpu_check.sh`" + (f", {report['seconds']:.0f} s" if report["seconds"] else "") + ".", ""]
    if report.get("no_gpu"):
        lines += [f"**No GPU here: {report['no_gpu']}.** Nothing GPU-side ran: no kernels were built for a GPU, no GPU "
                  "test ran, nothing was measured. This report only records the machine (below); run the same "
                  "command on a machine with an NVIDIA GPU.", ""]
    else:
        lines += [f"GPU: {report['gpu']}", ""]
    lines += ["## Environment", "", "| | version |", "|---|---|"]
    lines += [f"| {name} | {version or 'not installed'} |" for name, version in report["versions"].items()]
    if report["checks"]:
        lines += ["", "Backends (`lsnet checks`):", ""]
        lines += [f"- {name}: {'runs on the ' + s['reason'] if s['runs'] else 'cannot run: ' + s['reason']}"
                  for name, s in report["checks"]["backends"].items()]
    build, tests = report["build"], report["tests"]
    if "not_run" not in build:
        lines += ["", "## Build", "", f"{'succeeded' if build['ok'] else 'FAILED'} (log: `{build['log']}`)", ""]
        lines += [f"    {line}" for line in build["configure"]]
    if "not_run" not in tests:
        lines += ["", "## Tests (the GPU kernel, plugin build, TensorRT engine and `lsnet checks` tests)", "",
                  f"{tests['passed']} passed, {tests['failed']} failed, {tests['errors']} errors, "
                  f"{tests['skipped']} skipped in {tests['seconds']} s", ""]
        lines += [f"- FAILED `{f['test']}`: {f['message']}" for f in tests["failures"]]
    kernel = report["pyramid_dcn"]
    if "rows" in kernel:
        lines += ["", f"## Pyramid DCN kernel beside torchvision `deform_conv2d` ({kernel['channels']} channels, "
                      "batch 1, same-level call with bias)", "",
                  "| dtype | level | H×W | GFLOP | ours ms | ours TFLOP/s | torchvision ms | torchvision TFLOP/s | "
                  "speed-up | max abs diff |", "|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['dtype']} | {r['level']} | {r['size'][0]}×{r['size'][1]} | {r['gflop']} | {r['ours_ms']} | "
                  f"{r['ours_tflops']} | {r['torchvision_ms']} | {r['torchvision_tflops']} | {r['speedup']}× | "
                  f"{r['max_abs_difference']} |" for r in kernel["rows"]]
    model = report["pytorch_model"]
    if "fp32" in model:
        lines += ["", f"## PyTorch model ({model['model']}, {model['canvas'][0]}×{model['canvas'][1]}, batch 1, "
                      "network + decode + NMS)", "", "| precision | median ms | p90 ms | FPS |", "|---|---|---|---|"]
        lines += [f"| {name.upper()} | {model[name]['median_ms']} | {model[name]['p90_ms']} | {model[name]['fps']} |"
                  for name in ("fp32", "amp")]
    engine = report["tensorrt_engine"]
    if "fp16" in engine:
        e = engine["fp16"]
        lines += ["", "## TensorRT engine of the same model", "", f"{engine['engine']}; built in "
                  f"{engine['build_seconds']} s. Median {e['median_ms']} ms, p90 {e['p90_ms']} ms, {e['fps']} FPS "
                  f"({engine['note']})."]
    training = report["training"]
    if "iterations_per_second" in training:
        lines += ["", "## Training", "", f"{training['model']}, {training['canvas'][0]}×{training['canvas'][1]}, batch "
                  f"{training['batch']}, AMP: {training['iterations_per_second']} iterations/s "
                  f"({training['images_per_second']} images/s) over {training['iterations']} iterations, peak memory "
                  f"{training['peak_memory_gb']} GB."]
    if report["seconds"] and report["seconds"] > BUDGET_SECONDS:
        lines += ["", f"The check took {report['seconds']:.0f} s, over its {BUDGET_SECONDS // 60}-minute budget."]
    lines += ["", "## What did not run, and why", ""]
    lines += [f"- {item}" for item in report["not_run"]] or ["Everything ran."]
    return "\n".join(lines) + "\n"


def cmd_report(out: Path, no_gpu: str | None, seconds: float | None) -> int:
    report = gather(out, no_gpu, seconds)
    (out / "gpu-report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "gpu-report.md").write_text(markdown(report))
    print(f"wrote {out / 'gpu-report.md'} and {out / 'gpu-report.json'}")
    failed = any("error" in report[p] for p in ("pyramid_dcn", "pytorch_model", "tensorrt_engine", "training"))
    failed |= isinstance(report["tests"], dict) and bool(report["tests"].get("failed") or report["tests"].get("errors"))
    failed |= isinstance(report["build"], dict) and report["build"].get("ok") is False
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("missing", help="pip requirements of the packages the check needs and lacks")
    measure = sub.add_parser("measure", help="GPU measurements → OUT/measurements.json")
    measure.add_argument("--out", type=Path, required=True)
    report = sub.add_parser("report", help="OUT/gpu-report.md and OUT/gpu-report.json")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--no-gpu", metavar="REASON", help="this machine has no usable GPU: why")
    report.add_argument("--seconds", type=float, help="how long the whole check took")
    args = parser.parse_args(argv)
    if args.command == "missing":
        print("\n".join(req for module, req in REQUIREMENTS.items() if find_spec(module) is None))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if args.command == "measure":
        return cmd_measure(args.out)
    return cmd_report(args.out, args.no_gpu, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
