"""How each stage's cost grows with the input size (`lsnet bench --sizes`, docs/architecture.md §2).

For every input size S (a synthetic video of S) and every backend, `bench_detector` measures
pre-processing, model, decode + NMS, post-processing and the whole video pipeline. Where a
model can take any canvas (PyTorch, a dynamic export, a frames model bench builds for each
canvas) it runs at the input's own resolution — the canvas is S rounded up to the pad divisor —
so every stage grows with S; a fixed-canvas model (a static export, a given frames model)
letterboxes S onto its canvas and only the pre-processing grows. The table names the canvas of
every row; `plot_scaling` draws latency against input pixels.
"""
from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from pathlib import Path

from lsnet.errors import LSNetError
from lsnet.runtime.detector import Detector
from lsnet.runtime.preprocess import round_up

# Video size names → (H, W).
SIZE_NAMES = {"480p": (480, 640), "720p": (720, 1280), "1080p": (1080, 1920), "1440p": (1440, 2560),
              "2160p": (2160, 3840), "4k": (2160, 3840)}
STAGES = ("pre", "model", "decode", "post")


def parse_size(text: str) -> tuple[int, int]:
    """"512" → (512, 512); "800x1344" (H×W, as --imgsz) → (800, 1344); "720p", "1080p", "4k" → frame sizes."""
    key = text.strip().lower()
    if key in SIZE_NAMES:
        return SIZE_NAMES[key]
    match = re.fullmatch(r"(\d+)(?:[x×](\d+))?", key)
    if not match:
        raise LSNetError(f"size {text!r}: expected N (square), HxW (e.g. 800x1344) or one of {', '.join(SIZE_NAMES)}")
    h = int(match.group(1))
    w = int(match.group(2) or h)
    if min(h, w) < 32:
        raise LSNetError(f"size {text!r}: sides must be at least 32 pixels")
    return h, w


def size_text(hw) -> str:
    return f"{hw[0]}×{hw[1]}"


def canvas_for_size(size_hw: tuple[int, int], pad_divisor: int) -> tuple[int, int]:
    """The canvas of a model run at the input's own resolution."""
    return round_up(size_hw[0], pad_divisor), round_up(size_hw[1], pad_divisor)


@contextmanager
def at_canvas(detector: Detector, canvas_hw: tuple[int, int] | None):
    """The detector with its input size set to `canvas_hw` for the duration (None: unchanged)."""
    if canvas_hw is None:
        yield detector
        return
    original = detector.description
    detector.description = dataclasses.replace(original, input_size=canvas_hw)
    try:
        yield detector
    finally:
        detector.description = original


COLUMNS = (  # header, key, format
    ("input", "input", "{}"), ("canvas", "canvas", "{}"), ("pre ms", "pre_ms", "{:.2f}"),
    ("model ms", "model_ms", "{:.1f}"), ("decode ms", "decode_ms", "{:.1f}"), ("post ms", "post_ms", "{:.2f}"),
    ("total ms", "median_ms", "{:.1f}"), ("pre %", "pre_share", "{:.0%}"), ("pipeline FPS", "pipeline_fps", "{:.1f}"),
    ("pipeline/model", "pipeline_vs_model", "{:.2f}"),
)


def size_entry(summary: dict, size_hw: tuple[int, int]) -> dict:
    """A `bench_detector` summary as one row of the scaling results."""
    entry = {**summary, "input": size_text(size_hw), "input_hw": list(size_hw), "pixels": size_hw[0] * size_hw[1]}
    entry["canvas"] = size_text(summary["canvas"])
    entry["pre_share"] = summary["pre_ms"] / summary["median_ms"]
    return entry


def format_scaling_table(results: dict[str, list[dict]]) -> str:
    """One row per backend and size; "–" where a backend lacks a figure."""
    rows = [["backend"] + [header for header, _, _ in COLUMNS]]
    for name, entries in results.items():
        for entry in entries:
            rows.append([name] + [fmt.format(entry[key]) if entry.get(key) is not None else "–"
                                  for _, key, fmt in COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))) for row in rows)


def plot_scaling(results: dict[str, list[dict]], path: str | Path, title: str) -> Path:
    """Latency (ms) against input pixels, log-log: one colour per backend, one line style per stage."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError as e:
        raise LSNetError(f"the plot needs matplotlib ({e}): pip install matplotlib") from None
    styles = {"median_ms": ("total", "-", "o"), "model_ms": ("model", "--", "s"),
              "decode_ms": ("decode + NMS", "-.", "v"), "pre_ms": ("pre-processing (host)", ":", "^")}
    figure, axis = plt.subplots(figsize=(9, 5.5), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    backends = []
    for index, (name, entries) in enumerate(results.items()):
        colour = colours[index % len(colours)]
        backends.append(Line2D([], [], color=colour, lw=2, label=name))
        entries = sorted(entries, key=lambda e: e["pixels"])
        for key, (_, line, marker) in styles.items():
            points = [(e["pixels"], e[key]) for e in entries if e.get(key)]
            if points:
                x, y = zip(*points)
                axis.plot(x, y, line, marker=marker, color=colour, markersize=4)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("input size (H×W; pixels on a log scale)")
    axis.set_ylabel("ms per call (median)")
    axis.set_title(title, fontsize=10)
    sizes = sorted({(e["pixels"], e["input"]) for entries in results.values() for e in entries})
    axis.set_xticks([p for p, _ in sizes])
    # every other label one line lower: sizes of similar pixel counts (720p, 800×1344) stay legible
    axis.set_xticklabels([("\n" if i % 2 else "") + label for i, (_, label) in enumerate(sizes)], fontsize=8)
    axis.minorticks_off()
    axis.grid(True, which="major", alpha=0.3)
    stages = [Line2D([], [], color="grey", linestyle=line, marker=marker, label=stage)
              for stage, line, marker in styles.values()]
    first = axis.legend(handles=backends, title="backend", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    axis.add_artist(first)
    axis.legend(handles=stages, title="stage", fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0))
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    figure.savefig(tmp)
    plt.close(figure)
    tmp.replace(path)
    return path
