"""Latency and throughput of a detector (`lsnet bench`, docs/architecture.md §2).

Per backend: warm-up, N timed `predict` calls, median / p90 / p99 latency and FPS, with pre-
processing, the model call and post-processing timed apart (per-stage medians), the decode + NMS
share of the frame time where the backend can time it, and the FPS of the full video pipeline
(reader → model → writer) beside the model-only FPS. Machines are noisy: compare medians and
ratios, not absolute times.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from lsnet.description import DECODE_NODE_PREFIX
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES
from lsnet.runtime.detector import Detector
from lsnet.runtime.pipeline import run_pipeline
from lsnet.runtime.preprocess import preprocess
from lsnet.runtime.sinks import VideoSink
from lsnet.runtime.sources import open_source


def time_predict(detector: Detector, images: Sequence[np.ndarray], runs: int, warmup: int) -> list[dict]:
    """`detector.timings` of `runs` calls on `images` (one batch) after `warmup` untimed calls, with
    each call's "total" (pre + model + post), in seconds."""
    for _ in range(warmup):
        detector.predict(list(images))
    samples = []
    for _ in range(runs):
        detector.predict(list(images))
        samples.append({**detector.timings, "total": sum(detector.timings[k] for k in ("pre", "model", "post"))})
    return samples


def latency_summary(samples: list[dict], batch: int) -> dict:
    """Median / p90 / p99 of the whole call, FPS, and per-stage medians."""
    total = np.array([s["total"] for s in samples]) * 1000
    median, p90, p99 = np.percentile(total, [50, 90, 99])
    out = {"median_ms": float(median), "p90_ms": float(p90), "p99_ms": float(p99), "fps": batch * 1000 / median}
    for stage in ("pre", "model", "post", "decode"):
        if all(stage in s for s in samples):
            out[f"{stage}_ms"] = float(np.median([s[stage] for s in samples]) * 1000)
    out["model_fps"] = batch * 1000 / out["model_ms"]
    return out


def onnx_decode_ms(detector, images: Sequence[np.ndarray], runs: int) -> float | None:
    """Median ms of an exported graph's decode + NMS alone; None if the graph has none or the
    `onnx` package (not needed to run models) is not installed.

    Its `lsnet_decode/…` nodes are cut out as a model of their own (`onnx.utils.Extractor`) and
    run, with the detector's providers, on the head maps the rest of the graph computes.
    """
    try:
        import onnx
        from onnx.utils import Extractor
    except ImportError:
        return None
    import onnxruntime as ort

    graph = onnx.load(detector.path)
    nodes = [n for n in graph.graph.node if n.name.startswith(DECODE_NODE_PREFIX)]
    if not nodes:
        return None
    produced = {name for n in nodes for name in n.output}
    constants = {i.name for i in graph.graph.initializer}
    cut = sorted({name for n in nodes for name in n.input} - produced - constants - {""})
    extractor = Extractor(graph)

    def session(inputs: list[str], outputs: list[str]) -> ort.InferenceSession:
        part = extractor.extract_model(inputs, outputs).SerializeToString()
        return ort.InferenceSession(part, providers=detector.session.get_providers())

    batch, _ = preprocess(list(images), detector.description, detector.canvas_for(list(images)))
    feed = {detector.input_name: detector.fit_batch(batch)}
    maps = dict(zip(cut, session([detector.input_name], cut).run(cut, feed)))
    decode = session(cut, list(PADDED_OUTPUT_NAMES))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        decode.run(None, maps)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def pipeline_summary(detector: Detector, video: str | Path, batch: int) -> dict:
    """FPS of reader → model → drawing → writer over a whole video, written into a temporary file."""
    source = open_source(str(video))
    with tempfile.TemporaryDirectory(prefix="lsnet-bench-") as tmp:
        result = run_pipeline(detector, source, [VideoSink(Path(tmp) / "pipeline.mp4", source.info.fps or 25.0)],
                              batch=batch)
    return {"pipeline_fps": result.fps, "pipeline_frames": result.frames}


def bench_detector(detector: Detector, images: Sequence[np.ndarray], runs: int, warmup: int,
                   video: str | Path | None = None) -> dict:
    """One backend's entry of `lsnet bench --json` (see the module docstring)."""
    summary = latency_summary(time_predict(detector, images, runs, warmup), len(images))
    summary.update(batch=len(images), runs=runs, warmup=warmup,
                   canvas=list(detector.canvas_for(list(images))))
    if "decode_ms" not in summary and detector.backend.startswith("onnxruntime"):
        decode_ms = onnx_decode_ms(detector, images, runs)
        if decode_ms is not None:
            summary["decode_ms"] = decode_ms
    if "decode_ms" in summary:  # decode + NMS as a share of the whole call
        summary["decode_share"] = summary["decode_ms"] / summary["median_ms"]
    if video is not None:
        summary.update(pipeline_summary(detector, video, len(images)))
        summary["pipeline_vs_model"] = summary["pipeline_fps"] / summary["model_fps"]
    return summary


def compare_to(results: dict[str, dict], reference: str = "pytorch") -> None:
    """Adds each backend's median-latency speed-up over `reference` (in place)."""
    if reference in results:
        for entry in results.values():
            entry[f"speedup_vs_{reference}"] = results[reference]["median_ms"] / entry["median_ms"]


COLUMNS = (  # header, key, format
    ("backend", None, "{}"), ("batch", "batch", "{}"), ("median ms", "median_ms", "{:.1f}"),
    ("p90 ms", "p90_ms", "{:.1f}"), ("p99 ms", "p99_ms", "{:.1f}"), ("FPS", "fps", "{:.1f}"),
    ("pre ms", "pre_ms", "{:.1f}"), ("model ms", "model_ms", "{:.1f}"), ("post ms", "post_ms", "{:.2f}"),
    ("decode+NMS", "decode_share", "{:.0%}"), ("pipeline FPS", "pipeline_fps", "{:.1f}"),
    ("pipeline/model", "pipeline_vs_model", "{:.2f}"), ("× pytorch", "speedup_vs_pytorch", "{:.2f}"),
)


def format_table(results: dict[str, dict]) -> str:
    """The results as an aligned text table; "–" where a backend lacks a figure."""
    rows = [[header for header, _, _ in COLUMNS]]
    for name, entry in results.items():
        rows.append([name] + [fmt.format(entry[key]) if key in entry else "–" for _, key, fmt in COLUMNS[1:]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)
