"""`lsnet.runtime.bench`: interleaved rounds, the spread, paired ratios, warnings, the table's legend."""
import numpy as np
import pytest
from small_model import small_description

from lsnet.runtime.bench import (MIN_ROUNDS, RATIO_LIMIT, SPREAD_LIMIT, format_table, latency_summary, legend,
                                 paired_speedup, spread_warnings, time_rounds)
from lsnet.runtime.detector import Detector


class RecordingDetector(Detector):
    """PLUMBING FIXTURE, NOT A MODEL: finds nothing, and writes its name in `calls` at every model call."""

    def __init__(self, name: str, calls: list):
        super().__init__(small_description(), dynamic=False)
        self.name, self.calls = name, calls

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        self.calls.append(self.name)
        n = len(batch)
        return {"num_dets": np.zeros((n, 1), np.int32), "boxes": np.zeros((n, 0, 4), np.float32),
                "scores": np.zeros((n, 0), np.float32), "labels": np.zeros((n, 0), np.int32),
                "landmarks": np.zeros((n, 0, 4, 2), np.float32)}


def samples(*totals_ms: float) -> list[dict]:
    return [{"pre": 0.0, "model": t / 1000, "post": 0.0, "total": t / 1000} for t in totals_ms]


def test_rounds_time_every_backend_once_each_in_a_rotating_order_after_the_warm_up():
    calls = []
    detectors = {name: RecordingDetector(name, calls) for name in "abc"}
    timed = time_rounds(detectors, [np.zeros((32, 32, 3), np.uint8)], rounds=4, warmup=2)
    assert calls[:6] == list("aabbcc")  # warm-up, untimed
    assert calls[6:] == list("abc" "bca" "cab" "abc")
    assert {name: len(s) for name, s in timed.items()} == {"a": 4, "b": 4, "c": 4}
    assert all(s["total"] == pytest.approx(s["pre"] + s["model"] + s["post"]) for s in timed["a"])


def test_a_time_limit_stops_the_rounds_but_keeps_the_least_there_must_be():
    calls = []
    timed = time_rounds({"a": RecordingDetector("a", calls)}, [np.zeros((32, 32, 3), np.uint8)], rounds=100, warmup=0,
                        seconds=0.0)
    assert len(timed["a"]) == MIN_ROUNDS == len(calls)


def test_latency_summary_by_hand():
    summary = latency_summary(samples(*range(1, 11)), batch=2)  # 1 … 10 ms
    # numpy's linear interpolation: p10 = 1 + 0.9, p50 = 5.5, p90 = 9.1, p99 = 9.91
    assert summary["median_ms"] == pytest.approx(5.5) and summary["p10_ms"] == pytest.approx(1.9)
    assert summary["p90_ms"] == pytest.approx(9.1) and summary["p99_ms"] == pytest.approx(9.91)
    assert summary["spread"] == pytest.approx((9.1 - 1.9) / 5.5)
    assert summary["fps"] == pytest.approx(2000 / 5.5) and summary["model_ms"] == pytest.approx(5.5)


def test_a_slow_spell_that_hits_both_backends_in_the_same_rounds_leaves_the_paired_ratio_alone():
    reference = samples(80, 80, 400, 400, 400, 80)  # the machine is busy in rounds 3–5 …
    other = samples(40, 40, 200, 200, 200, 40)  # … for both backends
    paired = paired_speedup(reference, other)
    assert paired["speedup"] == pytest.approx(2.0)
    assert paired["speedup_ci95"] == pytest.approx([2.0, 2.0]) and paired["speedup_uncertainty"] == 0


def test_the_ratio_is_the_median_of_the_rounds_and_its_interval_holds_it():
    paired = paired_speedup(samples(100, 100, 100, 100, 100), samples(50, 40, 25, 50, 50))  # ratios 2, 2.5, 4, 2, 2
    assert paired["speedup"] == pytest.approx(2.0)
    low, high = paired["speedup_ci95"]
    assert low == pytest.approx(2.0) and 2.0 <= high <= 4.0
    assert paired["speedup_uncertainty"] == pytest.approx((high - low) / 2)


def entry(spread: float, uncertainty: float | None = None) -> dict:
    out = {"median_ms": 10.0, "p10_ms": 10 - 5 * spread, "p90_ms": 10 + 5 * spread, "spread": spread}
    if uncertainty is not None:
        out.update(speedup_vs_pytorch=2.0, speedup_vs_pytorch_ci95=[2 - uncertainty, 2 + uncertainty],
                   speedup_vs_pytorch_uncertainty=uncertainty)
    return out


def test_spread_warnings_name_each_figure_too_wide_to_trust():
    assert spread_warnings({"pytorch": entry(0.05), "onnxruntime": entry(0.05, 0.05)}) == []
    wide = spread_warnings({"pytorch": entry(SPREAD_LIMIT + 0.5), "onnxruntime": entry(0.05, RATIO_LIMIT + 0.1)})
    assert len(wide) == 2
    assert wide[0].startswith("pytorch latency p10–p90 6.2–13.8 ms (75% of its median")
    assert wide[1].startswith("onnxruntime × pytorch 2.00 within 1.75–2.25")


def test_the_legend_explains_every_column_of_the_table():
    results = {"onnxruntime": {**latency_summary(samples(10, 11, 12), 1), "batch": 1, "threads": 2, "runs": 3,
                               "warmup": 1,
                               "decode_share": 0.02, "pipeline_fps": 90.0, "pipeline_vs_model": 0.9,
                               "pipeline_frames": 60, **paired_speedup(samples(20, 22, 24), samples(10, 11, 12))},
               "pytorch": {**latency_summary(samples(20, 22, 24), 1), "batch": 1, "threads": 2, "runs": 3,
                           "warmup": 1}}
    results["onnxruntime"] = {k.replace("speedup", "speedup_vs_pytorch"): v for k, v in results["onnxruntime"].items()}
    results["pytorch"]["speedup_vs_pytorch"] = 1.0
    header = format_table(results).splitlines()[0]
    text = legend(results)
    for column in ("batch", "threads", "median", "p90", "p99", "spread", "FPS", "pre", "model", "post", "decode+NMS",
                   "pipeline FPS", "pipeline/model", "× pytorch", "95% CI"):
        assert column in header and column in text, column
    assert "3 rounds after 1 warm-up call" in text and "60 video frames" in text


def test_the_table_leaves_out_columns_no_backend_has():
    header = format_table({"onnxruntime": {**latency_summary(samples(10, 11, 12), 1), "batch": 1}}).splitlines()[0]
    assert "median ms" in header and "pipeline" not in header and "× pytorch" not in header
