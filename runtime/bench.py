"""Latency and throughput of detectors side by side (`lsnet bench`, docs/architecture.md §2).

A shared machine is noisy, and noise that falls on one backend's turn and not the other's turns
a ratio into a lottery. So the backends are measured together:
- in interleaved rounds: each round times one call of every backend, in an order that rotates
  from round to round, so that slow spells fall on all of them alike;
- with the same CPU thread count (the caller loads them so);
- "× PyTorch" is the median over the rounds of the ratio within each round (paired), not a
  ratio of two medians taken minutes apart, with its 95 % confidence interval (bootstrap);
- the spread of every latency (p10–p90 over the rounds, relative to the median) is reported,
  and `spread_warnings` says when a spread or a ratio's interval is too wide to trust.

Per backend: median / p10 / p90 / p99 of the whole `predict` call, FPS, the pre-processing,
model and post-processing medians, the decode + NMS share of the call where the backend can
time it, and the FPS of the full video pipeline (reader → model → drawing → writer) beside the
model-only FPS. `time_rounds` and `bench_detectors` take any detectors and frames, so other
measurements (e.g. per input size) build on them.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lsnet.description import DECODE_NODE_PREFIX
from lsnet.runtime.detections import decode_output_names
from lsnet.runtime.detector import Detector
from lsnet.runtime.pipeline import run_pipeline
from lsnet.runtime.sinks import VideoSink
from lsnet.runtime.sources import FirstFrames, open_source
from lsnet.text import plural

SPREAD_LIMIT = 0.25  # a latency's p10–p90 wider than this share of its median: not to be trusted
RATIO_LIMIT = 0.15  # a ratio's 95 % interval wider than this share of it: two runs may disagree by as much
REFERENCE = "pytorch"
MIN_ROUNDS = 5  # what a time limit leaves at least


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads() -> int:
    """PyTorch's own default intra-op thread count where torch is installed (it follows
    OMP_NUM_THREADS), else the CPUs this process may use: the count every CPU backend gets."""
    try:
        import torch
    except ImportError:
        return available_cpus()
    return torch.get_num_threads()


def time_call(detector: Detector, images: Sequence[np.ndarray]) -> dict:
    """One `predict` call on `images` (one batch): `detector.timings` and their "total", in seconds."""
    detector.predict(list(images))
    return {**detector.timings, "total": sum(detector.timings[k] for k in ("pre", "model", "post"))}


def time_rounds(detectors: dict[str, Detector], images: Sequence[np.ndarray], rounds: int, warmup: int,
                seconds: float | None = None) -> dict[str, list[dict]]:
    """`time_call` samples per detector: `warmup` untimed calls each, then `rounds` rounds of one
    timed call each, the order rotating by one every round (module docstring) — fewer rounds, but
    at least `MIN_ROUNDS`, if `seconds` run out first."""
    names = list(detectors)
    for name in names:
        for _ in range(warmup):
            detectors[name].predict(list(images))
    samples: dict[str, list[dict]] = {name: [] for name in names}
    deadline = None if seconds is None else time.perf_counter() + seconds
    for index in range(rounds):
        if deadline is not None and index >= MIN_ROUNDS and time.perf_counter() > deadline:
            break
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(time_call(detectors[name], images))
    return samples


def spread(values: np.ndarray) -> tuple[float, float, float, float]:
    """(median, p10, p90, (p90 − p10) / median)."""
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return float(median), float(p10), float(p90), float((p90 - p10) / median) if median > 0 else 0.0


def latency_summary(samples: list[dict], batch: int) -> dict:
    """Median / p10 / p90 / p99 and the spread of the whole call, FPS, and per-stage medians."""
    total = np.array([s["total"] for s in samples]) * 1000
    median, p10, p90, relative = spread(total)
    out = {"median_ms": median, "p10_ms": p10, "p90_ms": p90, "p99_ms": float(np.percentile(total, 99)),
           "spread": relative, "fps": batch * 1000 / median}
    for stage in ("pre", "model", "post", "decode"):
        if all(stage in s for s in samples):
            out[f"{stage}_ms"] = float(np.median([s[stage] for s in samples]) * 1000)
    out["model_fps"] = batch * 1000 / out["model_ms"]
    return out


def median_ci(values: np.ndarray, level: float = 0.95, resamples: int = 2000) -> tuple[float, float]:
    """Bootstrap percentile confidence interval of the median (fixed seed: the same data, the same interval)."""
    rng = np.random.default_rng(0)
    medians = np.median(rng.choice(values, (resamples, len(values))), axis=1)
    low, high = np.percentile(medians, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high)


def paired_speedup(reference: list[dict], other: list[dict]) -> dict:
    """`reference`'s latency over `other`'s, round by round: the median ratio and its 95 % confidence
    interval."""
    ratios = np.array([r["total"] / o["total"] for r, o in zip(reference, other, strict=True)])
    median = float(np.median(ratios))
    low, high = median_ci(ratios)
    return {"speedup": median, "speedup_ci95": [low, high], "speedup_uncertainty": (high - low) / median}


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
        return ort.InferenceSession(part, detector.session.get_session_options(),
                                    providers=detector.session.get_providers())

    batch, _ = detector.prepare(list(images))
    feed = {detector.input_name: detector.fit_batch(batch)}
    maps = dict(zip(cut, session([detector.input_name], cut).run(cut, feed)))
    decode = session(cut, decode_output_names(detector.description))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        decode.run(None, maps)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def pipeline_summary(detector: Detector, video: str | Path, batch: int, frames: int | None = None,
                     seconds: float | None = None) -> dict:
    """FPS of reader → model → drawing → writer over the first `frames` frames of a video (all if
    None; those read in `seconds`, if given), written into a temporary file."""
    source = open_source(str(video))
    if frames is not None or seconds is not None:
        source = FirstFrames(source, frames or source.info.frame_count or 2**31, seconds)
    with tempfile.TemporaryDirectory(prefix="lsnet-bench-") as tmp:
        result = run_pipeline(detector, source, [VideoSink(Path(tmp) / "pipeline.mp4", source.info.fps or 25.0)],
                              batch=batch)
    return {"pipeline_fps": result.fps, "pipeline_frames": result.frames}


def bench_detectors(detectors: dict[str, Detector], images: Sequence[np.ndarray], rounds: int, warmup: int,
                    video: str | Path | None = None, frames: int | None = None,
                    log: Callable[[str], None] | None = None, seconds: float | None = None) -> dict[str, dict]:
    """One entry of `lsnet bench --json`'s "backends" per detector (module docstring); "× PyTorch"
    figures when one of them is named "pytorch". `seconds` limits the rounds and each pipeline run
    (a busy machine then gives fewer rounds and frames, and a wide spread to warn about)."""
    log = log or (lambda line: None)
    batch = len(images)
    samples = time_rounds(detectors, images, rounds, warmup, seconds)
    results = {}
    for name, detector in detectors.items():
        entry = latency_summary(samples[name], batch)
        entry.update(batch=batch, runs=len(samples[name]), warmup=warmup,
                     canvas=list(detector.canvas_for(list(images))))
        if "decode_ms" not in entry and detector.backend.startswith("onnxruntime"):
            decode_ms = onnx_decode_ms(detector, images, len(samples[name]))
            if decode_ms is not None:
                entry["decode_ms"] = decode_ms
        if "decode_ms" in entry:  # decode + NMS as a share of the whole call
            entry["decode_share"] = entry["decode_ms"] / entry["median_ms"]
        if name == REFERENCE:
            entry[f"speedup_vs_{REFERENCE}"] = 1.0
        elif REFERENCE in samples:
            paired = paired_speedup(samples[REFERENCE], samples[name])
            entry.update({key.replace("speedup", f"speedup_vs_{REFERENCE}"): value for key, value in paired.items()})
        results[name] = entry
    if video is not None:
        for name, detector in detectors.items():
            log(f"{name}: video pipeline" + (f" on {plural(frames, 'frame')}" if frames else ""))
            results[name].update(pipeline_summary(detector, video, batch, frames, seconds))
            results[name]["pipeline_vs_model"] = results[name]["pipeline_fps"] / results[name]["model_fps"]
    return results


def bench_detector(detector: Detector, images: Sequence[np.ndarray], runs: int, warmup: int,
                   video: str | Path | None = None, frames: int | None = None, seconds: float | None = None) -> dict:
    """`bench_detectors` for one detector: its entry."""
    return bench_detectors({detector.backend: detector}, images, runs, warmup, video, frames,
                           seconds=seconds)[detector.backend]


def spread_warnings(results: dict[str, dict], limit: float | None = None,
                    ratio_limit: float | None = None) -> list[str]:
    """What varied too much to trust, one phrase each: a latency spread above `limit`, a ratio
    whose 95 % interval is wider than `ratio_limit` of it (default: SPREAD_LIMIT, RATIO_LIMIT)."""
    limit = SPREAD_LIMIT if limit is None else limit
    ratio_limit = RATIO_LIMIT if ratio_limit is None else ratio_limit
    wide = []
    key = f"speedup_vs_{REFERENCE}"
    for name, entry in results.items():
        if entry["spread"] > limit:
            wide.append(f"{name} latency p10–p90 {entry['p10_ms']:.1f}–{entry['p90_ms']:.1f} ms "
                        f"({entry['spread']:.0%} of its median, limit {limit:.0%})")
        if name != REFERENCE and entry.get(f"{key}_uncertainty", 0.0) > ratio_limit:
            low, high = entry[f"{key}_ci95"]
            wide.append(f"{name} × {REFERENCE} {entry[key]:.2f} within {low:.2f}–{high:.2f} "
                        f"({entry[f'{key}_uncertainty']:.0%} of it, limit {ratio_limit:.0%})")
    return wide


def untrusted_advice(wide: list[str], threads: int | None, load: float | None, cpus: int) -> str:
    """The warning for `spread_warnings`' findings: what was seen, the likely cause, what to do."""
    busy = f" (load average {load:.1f} on {cpus} CPUs)" if load is not None else ""
    fewer = (f", or with --threads 1 (with {threads} threads PyTorch's threads wait for each other whenever "
             "another process holds a core)") if threads and threads > 1 else ""
    return (f"the timings vary too much to trust: {'; '.join(wide)}. Other processes are probably using the "
            f"CPUs{busy}. Rerun on a quiet machine{fewer}, or with more --runs.")


COLUMNS = (  # header, key, format
    ("backend", None, "{}"), ("batch", "batch", "{}"), ("threads", "threads", "{}"),
    ("median ms", "median_ms", "{:.1f}"), ("p90 ms", "p90_ms", "{:.1f}"), ("p99 ms", "p99_ms", "{:.1f}"),
    ("spread", "spread", "{:.0%}"), ("FPS", "fps", "{:.1f}"), ("pre ms", "pre_ms", "{:.1f}"),
    ("model ms", "model_ms", "{:.1f}"), ("post ms", "post_ms", "{:.2f}"), ("decode+NMS", "decode_share", "{:.0%}"),
    ("pipeline FPS", "pipeline_fps", "{:.1f}"), ("pipeline/model", "pipeline_vs_model", "{:.2f}"),
    ("× pytorch", "speedup_vs_pytorch", "{:.2f}"), ("95% CI", "speedup_vs_pytorch_ci95", "{0[0]:.2f}–{0[1]:.2f}"),
)


def _cell(entry: dict, key: str, fmt: str) -> str:
    return "–" if entry.get(key) is None else fmt.format(entry[key])


def format_table(results: dict[str, dict]) -> str:
    """The results as an aligned text table; "–" where a backend lacks a figure, no column that
    no backend has (e.g. the pipeline's, when it was not measured)."""
    columns = [COLUMNS[0]] + [c for c in COLUMNS[1:] if any(e.get(c[1]) is not None for e in results.values())]
    rows = [[header for header, _, _ in columns]]
    for name, entry in results.items():
        rows.append([name] + [_cell(entry, key, fmt) for _, key, fmt in columns[1:]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in rows)


def legend(results: dict[str, dict]) -> str:
    """What each column of `format_table(results)` means, for under the table."""
    def shown(key: str) -> bool:
        return any(entry.get(key) is not None for entry in results.values())

    rounds, warmup = (max(entry[key] for entry in results.values()) for key in ("runs", "warmup"))
    lines = [
        f"median/p90/p99 ms: one predict call (pre-processing + model + post-processing) over {plural(rounds, 'round')}"
        f" after {plural(warmup, 'warm-up call')}; each round times every backend once, in a rotating order",
        "threads: CPU threads of the backend (torch.set_num_threads, ONNX Runtime intra-op threads)",
        f"spread: (p90 − p10) / median of that latency; above {SPREAD_LIMIT:.0%} the figures are not to be trusted",
        "batch: images per call; FPS: images per second at the median latency",
        "pre / model / post ms: medians of the three stages"
        + ("; decode+NMS: their share of the call (inside the model)" if shown("decode_share") else ""),
    ]
    if shown("pipeline_fps"):
        frames = max(entry.get("pipeline_frames", 0) for entry in results.values())
        lines.append(f"pipeline FPS: read → model → draw → write on {plural(frames, 'video frame')}, threaded, "
                     "one run per backend after the rounds; pipeline/model: pipeline FPS over the model-only FPS")
    if shown(f"speedup_vs_{REFERENCE}"):
        lines.append(f"× {REFERENCE}: median over the rounds of its latency / this backend's in the same round; "
                     f"95% CI: the bootstrap confidence interval of that median (wider than {RATIO_LIMIT:.0%} of "
                     "it: not to be trusted)")
    return "\n".join(lines)
