"""`lsnet bench MODEL`: latency and FPS per backend, side by side with PyTorch (docs/architecture.md §2)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from lsnet.commands.arg_types import existing_file, non_negative_int, positive_float, positive_int
from lsnet.commands.runtime_options import add_backend_options, backend_options
from lsnet.errors import LSNetError, warn
from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="latency (median, p90, p99, spread) and FPS per backend, beside PyTorch",
        description="Benchmark MODEL on every backend that can run it here, always beside PyTorch: an .onnx "
                    "or .engine needs its checkpoint (--checkpoint, or CKPT.pt next to it); a .pt is "
                    "exported to ONNX on the fly. The backends are timed in interleaved rounds (one call of "
                    "each per round, the order rotating) with the same CPU thread count, so that they share "
                    "the machine's noise; × PyTorch is the median of the per-round ratios. The spread of "
                    "every figure is reported, with a warning when it is too wide to trust. Pre-processing, "
                    "model and post-processing are timed apart; the full video pipeline (read → model → "
                    "draw → write) is timed on the first --frames frames of --video or of a synthetic video.")
    p.add_argument("model", help="model file: .pt, .onnx, .trt.onnx (plugin CPU twins) or .engine")
    p.add_argument("--backends", help="comma-separated backends to measure (default: MODEL's own, "
                                      "PyTorch, and ONNX Runtime for a .pt)")
    p.add_argument("--checkpoint", metavar="CKPT", type=existing_file,
                   help="the .pt for the PyTorch column when MODEL is not one (the same network: checked)")
    p.add_argument("--runs", type=positive_int, default=50, metavar="N",
                   help="timed rounds: one call of every backend each (default 50)")
    p.add_argument("--warmup", type=non_negative_int, default=5, metavar="N",
                   help="untimed calls per backend first (default 5)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="images per call (default 1)")
    inputs = p.add_mutually_exclusive_group()
    inputs.add_argument("--image", metavar="F", type=existing_file,
                        help="time on this image (default: the first frame of the video)")
    inputs.add_argument("--video", metavar="F", type=existing_file,
                        help="video for the timing and the pipeline FPS (default: synthetic)")
    p.add_argument("--frames", type=positive_int, metavar="N",
                   help="frames for the pipeline FPS: the first N of --video, or a synthetic video of N (default 100; "
                        "20 per size with --sizes)")
    p.add_argument("--no-pipeline", action="store_true", help="skip the full video pipeline measurement")
    p.add_argument("--frames-model", action="store_true",
                   help="also time the frames model of each ONNX Runtime model (pre-processing inside the graph, "
                        "`lsnet export onnx --frames`) as NAME+frames, on the same frames")
    p.add_argument("--sizes", nargs="+", metavar="S",
                   help="time every stage at each input size: N (N×N), HxW (e.g. 800x1344) or 720p, 1080p, 4k; "
                        "models that take any canvas run at the input's resolution (a .pt's ONNX is exported "
                        "dynamic); prints a table and writes a plot")
    p.add_argument("--plot", metavar="PNG", help="--sizes: the plot of latency against input pixels (default: "
                                                 "--json's name with .png, else runs/bench/sizes.png)")
    p.add_argument("--time-limit", type=positive_float, metavar="S",
                   help="stop the rounds after S seconds (keeping at least 5) and each pipeline run after S seconds, "
                        "so that a busy machine does not stretch the run (default: no limit)")
    add_backend_options(p, threads_help="CPU threads of every backend, the same for all: torch.set_num_threads "
                                         "and ONNX Runtime intra-op threads (default: PyTorch's default count)")
    p.add_argument("--json", metavar="F", help='write {"threads", …, "backends": {NAME: {"median_ms", "p90_ms", '
                                               '"spread", …}}} here (with --sizes {"sizes": {NAME: [one such '
                                               'entry per size]}, …})')
    p.set_defaults(run=run)


def default_backends(model: Path) -> list[str]:
    from lsnet.runtime.backends import backend_for

    own = backend_for(model).name
    names = [own, "pytorch"]
    if own == "pytorch":
        names.append("onnxruntime")
    if own == "onnxruntime":  # the GPU execution providers too, where this ONNX Runtime has them
        import onnxruntime

        available = onnxruntime.get_available_providers()
        names += [n for n, p in (("onnxruntime-cuda", "CUDAExecutionProvider"),
                                 ("onnxruntime-tensorrt", "TensorrtExecutionProvider")) if p in available]
    return list(dict.fromkeys(names))


def find_checkpoint(model: Path, export_info: dict, given: str | None) -> Path:
    """The PyTorch checkpoint of an exported model: --checkpoint, the one the export recorded
    (looked for next to MODEL), MODEL.pt."""
    candidates = [Path(given)] if given else []
    if export_info.get("checkpoint"):
        candidates.append(model.parent / Path(export_info["checkpoint"]).name)
    candidates.append(model.with_suffix(".pt"))
    for path in candidates:
        if path.is_file():
            check_same_network(model, path)
            return path
    raise LSNetError(f"bench compares with PyTorch but found no checkpoint for {model} (looked at "
                     f"{', '.join(map(str, candidates))}); pass --checkpoint CKPT, or --backends without pytorch")


def check_same_network(model: Path, checkpoint: Path) -> None:
    """LSNetError unless `checkpoint` holds the network `model` was exported from: a PyTorch column
    of another model would make every ratio meaningless."""
    from lsnet.artifacts import network_differences, read_artifact

    differences = network_differences(read_artifact(model), read_artifact(checkpoint))
    if differences:
        raise LSNetError(f"{checkpoint} is not the model {model} was made from ({'; '.join(differences)}); "
                         "pass the checkpoint it was exported from with --checkpoint")


def export_for_bench(checkpoint: Path, folder: Path, batch: int, dynamic: bool = False) -> Path:
    try:
        from lsnet.export.onnx_export import export_onnx
    except ImportError as e:
        raise LSNetError(f"cannot export {checkpoint} to ONNX for the ONNX Runtime column ({e})") from None
    from lsnet.progress import Steps

    log(f"exporting {checkpoint} to ONNX ({'dynamic' if dynamic else f'batch {batch}'}) for the ONNX Runtime column")
    with Steps("export onnx") as steps:
        return Path(export_onnx(checkpoint, folder / f"{checkpoint.stem}.onnx", batch=batch, dynamic=dynamic,
                                progress=steps))


def model_files(model: Path, names: list[str], export_info: dict, checkpoint: str | None, folder: Path,
                batch: int, dynamic: bool = False) -> dict[str, Path]:
    """The file each backend runs: MODEL where it can, else the checkpoint (PyTorch) or an ONNX
    export of MODEL made now (ONNX Runtime for a .pt)."""
    from lsnet.runtime.backends import BACKENDS

    files: dict[str, Path] = {}
    for name in names:
        suffixes = BACKENDS[name].suffixes
        if model.suffix.lower() in suffixes:
            files[name] = model
        elif name == "pytorch":
            files[name] = find_checkpoint(model, export_info, checkpoint)
        elif ".onnx" in suffixes and model.suffix.lower() == ".pt":
            exported = [f for f in files.values() if f.suffix == ".onnx"]
            files[name] = exported[0] if exported else export_for_bench(model, folder, batch, dynamic)
        else:
            raise LSNetError(f"backend {name} cannot run {model}; bench its own model file with it")
    return files


def bench_inputs(args: argparse.Namespace, task: str, folder: Path):
    """(images for the timed calls, video for the pipeline or None)."""
    from lsnet.runtime.sources import open_source, read_image

    if args.image:
        return [read_image(Path(args.image))] * args.batch, None
    video = args.video
    if video is None:
        from lsnet.data.video import write_video

        video = write_video(folder / "synthetic.mp4", task, args.frames or 100)
    source = open_source(str(video))
    images = []
    for frame in source:
        images.append(frame.image)
        if len(images) == args.batch:
            break
    source.close()
    return images + images[-1:] * (args.batch - len(images)), None if args.no_pipeline else video


def load_detectors(model: Path, own: str, names: list[str], options: dict, checkpoint: str | None, folder: Path,
                   batch: int, dynamic: bool = False) -> tuple[dict, dict[str, Path]]:
    """(backend → Detector, backend → the file it runs) for `names`, all on one canvas. MODEL is
    opened with its own backend first, for the export record that names its checkpoint; a .pt's
    ONNX is exported `dynamic` (any canvas) if asked."""
    from lsnet.runtime import load
    from lsnet.runtime.backends import BACKENDS

    opened = {own: load(model, own, **BACKENDS[own].accepted(options))}
    files = model_files(model, names, opened[own].export_info, checkpoint, folder, batch, dynamic)
    detectors = {name: opened.get(name) or load(files[name], name, **BACKENDS[name].accepted(options))
                 for name in names}
    # Every backend runs the model's input size (`lsnet.runtime.preprocess.batch_canvas`), so latencies compare.
    return detectors, files


def load_average() -> float | None:
    """The 1-minute load average, where the system has one: with the CPU count, how busy the machine was."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from lsnet.commands.bench_sizes import add_frames_models, plot_path, run_sizes
    from lsnet.files import claim_outputs
    from lsnet.runtime.backends import BACKENDS, backend_for
    from lsnet.runtime.bench import available_cpus, bench_detectors, default_threads
    from lsnet.runtime.scaling import parse_size

    if args.threads is not None and args.threads < 1:
        raise LSNetError(f"--threads must be ≥ 1, got {args.threads}")
    if args.sizes and (args.image or args.video):
        raise LSNetError("--sizes renders its own synthetic video at each size; drop --image/--video")
    for size in args.sizes or []:  # bad sizes before any model is loaded or exported
        parse_size(size)
    model = Path(args.model)
    own = backend_for(model).name
    names = args.backends.split(",") if args.backends else default_backends(model)
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise LSNetError(f"unknown backends {', '.join(unknown)} (expected some of {', '.join(BACKENDS)})")
    names = list(dict.fromkeys(names))
    cpus = available_cpus()
    threads = args.threads or default_threads()
    options = {**backend_options(args), "threads": threads}
    outputs = [args.json, plot_path(args)] if args.sizes else [args.json]
    with claim_outputs(outputs, inputs=[args.model, args.checkpoint, args.image, args.video]):
        with tempfile.TemporaryDirectory(prefix="lsnet-bench-") as tmp:
            detectors, files = load_detectors(model, own, names, options, args.checkpoint, Path(tmp), args.batch,
                                              dynamic=bool(args.sizes))
            frames_sources = add_frames_models(detectors, files, Path(tmp), options) if args.frames_model else {}
            names += list(frames_sources)
            if args.sizes:
                return run_sizes(args, detectors, files, frames_sources, Path(tmp), options, threads)
            images, video = bench_inputs(args, detectors[names[0]].description.task, Path(tmp))
            load_before = load_average()
            for name in names:
                log(f"{name}: {files[name]}")
            machine = f"; load average {load_before:.1f} on {cpus} CPUs" if load_before is not None else ""
            log(f"timing {', '.join(names)}: {plural(args.warmup, 'warm-up call')} each, then "
                f"{plural(args.runs, 'interleaved round')} "
                f"({plural(threads, 'CPU thread')} each{machine})")
            results = bench_detectors(detectors, images, args.runs, args.warmup, video,
                                      (args.frames or 100) if video is not None else None, log, args.time_limit)
            load_after = load_average()
        report_results(args, results, files, options, threads, cpus, load_before, load_after)
    print(f"next: lsnet infer {args.model} VIDEO --show-fps   |   lsnet eval {args.model} --data DIR")
    return 0


def report_results(args: argparse.Namespace, results: dict, files: dict, options: dict, threads: int, cpus: int,
                   load_before: float | None, load_after: float | None) -> None:
    """The table, its legend, the warnings, and the JSON report (`--json`)."""
    from lsnet.files import write_json
    from lsnet.runtime.backends import BACKENDS
    from lsnet.commands.bench_sizes import base_backend
    from lsnet.runtime.bench import format_table, legend, spread_warnings, untrusted_advice

    for name, entry in results.items():
        entry["file"] = str(files[name])
        entry["threads"] = threads if "threads" in BACKENDS[base_backend(name)].accepted(options) else None
    print(format_table(results))
    print()
    print(legend(results))
    rounds = next(iter(results.values()))["runs"]
    if rounds < args.runs:
        log(f"the time limit ({args.time_limit:g} s) stopped the rounds after {rounds} of {args.runs}")
    wide = spread_warnings(results)
    warnings = [untrusted_advice(wide, threads, load_before, cpus)] if wide else []
    for warning in warnings:
        warn(warning)
    if args.json:
        report = {"threads": threads, "cpus": cpus, "rounds": rounds, "warmup": args.warmup,
                  "time_limit": args.time_limit, "load_average": {"before": load_before, "after": load_after},
                  "warnings": warnings, "backends": results}
        print(f"wrote {write_json(args.json, report)}")
