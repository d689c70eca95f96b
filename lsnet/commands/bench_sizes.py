"""`lsnet bench --frames` and `--sizes` (docs/architecture.md §2): the frames model beside the images
model, and how every stage grows with the input size (`lsnet.runtime.scaling`).

`--frames` adds, for each ONNX Runtime images model being measured, its frames model
(`lsnet.export.frames_graph`: the same network with the pre-processing inside the graph) as
`NAME+frames`, so that host and in-graph pre-processing are timed in one run on the same frames.
With `--sizes`, a frames model bench made from a dynamic export is rebuilt for each canvas, so
that it runs at the same canvas as its images model.
"""
from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from lsnet.errors import LSNetError
from lsnet.runtime.detector import Detector
from lsnet.text import plural

FRAMES_SUFFIX = "+frames"
SIZES_VIDEO_FRAMES = 20  # default length of each size's synthetic video


def frames_model_file(images_onnx: Path, folder: Path, canvas_hw: tuple[int, int] | None = None) -> Path:
    """The frames model of an images ONNX, written into `folder` (canvas: its input size, or `canvas_hw`)."""
    try:
        import onnx

        from lsnet.export.frames_graph import add_frames_input
    except ImportError as e:
        raise LSNetError(f"--frames builds the frames model with onnx and onnx-graphsurgeon ({e}); "
                         "pip install 'lsnet-trt[export]'") from None
    suffix = f".frames{canvas_hw[0]}x{canvas_hw[1]}" if canvas_hw else ".frames"
    out = folder / f"{images_onnx.stem}{suffix}.onnx"
    onnx.save(add_frames_input(onnx.load(images_onnx), canvas_hw), out)
    return out


def add_frames_models(detectors: dict[str, Detector], files: dict[str, Path], folder: Path,
                      options: dict) -> dict[str, Path]:
    """Adds NAME+frames for every ONNX Runtime images model; returns frames name → its images ONNX."""
    from lsnet.runtime import load
    from lsnet.runtime.backends import BACKENDS

    sources = {}
    for name, detector in list(detectors.items()):
        if not name.startswith("onnxruntime") or detector.description.takes_frames:
            continue
        frames_name = name + FRAMES_SUFFIX
        files[frames_name] = frames_model_file(files[name], folder)
        detectors[frames_name] = load(files[frames_name], name, **BACKENDS[name].accepted(options))
        sources[frames_name] = files[name]
    if not sources:
        raise LSNetError("--frames needs an ONNX Runtime images model among the backends (MODEL an images .onnx "
                         "or a .pt, and an onnxruntime backend)")
    return sources


def base_backend(name: str) -> str:
    """The backend a bench entry ran on: "onnxruntime+frames" → "onnxruntime"."""
    return name.removesuffix(FRAMES_SUFFIX)


def frames_at(name: str, detector: Detector, sources: dict[str, Path], canvas_hw, folder: Path, options: dict):
    """The frames detector to measure at `canvas_hw`: rebuilt at that canvas if bench made it, else itself."""
    if canvas_hw is None or name not in sources or tuple(canvas_hw) == tuple(detector.description.input_size):
        return detector
    from lsnet.runtime import load
    from lsnet.runtime.backends import BACKENDS

    backend = base_backend(name)
    return load(frames_model_file(sources[name], folder, canvas_hw), backend, **BACKENDS[backend].accepted(options))


def plot_path(args: argparse.Namespace) -> Path:
    """--plot, else --json's name with .png, else runs/bench/sizes.png."""
    if args.plot:
        return Path(args.plot)
    return Path(args.json).with_suffix(".png") if args.json else Path("runs/bench/sizes.png")


def first_frames(video: Path, batch: int) -> list:
    from lsnet.runtime.sources import open_source

    source = open_source(str(video))
    images = []
    for frame in source:
        images.append(frame.image)
        if len(images) == batch:
            break
    source.close()
    return images + images[-1:] * (batch - len(images))


def run_sizes(args: argparse.Namespace, detectors: dict[str, Detector], files: dict[str, Path],
              frames_sources: dict[str, Path], folder: Path, options: dict, threads: int) -> int:
    """Every backend at every size of --sizes, the backends of one size timed in interleaved rounds
    (`lsnet.runtime.bench.bench_detectors`): table, JSON, plot."""
    from lsnet.commands.bench import load_average, log
    from lsnet.data.video import write_video
    from lsnet.files import write_json
    from lsnet.runtime.bench import bench_detectors
    from lsnet.runtime.scaling import (at_canvas, canvas_for_size, format_scaling_table, parse_size, plot_scaling,
                                       size_entry, size_text)

    sizes = sorted(dict.fromkeys(parse_size(s) for s in args.sizes), key=lambda hw: (hw[0] * hw[1], hw))
    description = next(iter(detectors.values())).description
    # Every images model runs at the input's resolution if all of them can (else all at their fixed canvas).
    follow = all(d.dynamic for d in detectors.values() if not d.description.takes_frames)
    length = args.frames or SIZES_VIDEO_FRAMES
    results: dict[str, list[dict]] = {name: [] for name in detectors}
    load_before = load_average()
    for size in sizes:
        video = write_video(folder / f"size-{size[0]}x{size[1]}.mp4", description.task, length, size=(size[1], size[0]))
        images = first_frames(video, args.batch)
        canvas = canvas_for_size(size, description.pad_divisor) if follow else None
        log(f"{size_text(size)} input" + (f", canvas {size_text(canvas)}" if canvas else "") + f": "
            f"{', '.join(detectors)}, {plural(args.warmup, 'warm-up call')} each, "
            f"{plural(args.runs, 'interleaved round')}")
        with ExitStack() as stack:
            measured = {name: frames_at(name, d, frames_sources, canvas, folder, options) if d.description.takes_frames
                        else stack.enter_context(at_canvas(d, canvas)) for name, d in detectors.items()}
            summaries = bench_detectors(measured, images, args.runs, args.warmup,
                                        None if args.no_pipeline else video, length, log, args.time_limit)
        for name, summary in summaries.items():
            results[name].append({**size_entry(summary, size), "file": str(files[name])})
    print(format_scaling_table(results))
    plot = plot_path(args)
    title = (f"{Path(args.model).name}: latency against input size, batch {args.batch}, "
             f"{args.runs} rounds per point (medians)")
    plot_scaling(results, plot, title)
    print(f"wrote {plot}")
    if args.json:
        report = {"threads": threads, "load_average": {"before": load_before, "after": load_average()},
                  "sizes": results, "plot": str(plot)}
        print(f"wrote {write_json(args.json, report)}")
    return 0
