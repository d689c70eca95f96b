"""TensorRT on a GPU: engines built from the committed model, loaded, run, compared with PyTorch and
measured. Each test skips with the reason where TensorRT, a GPU or the committed model is missing;
none of them has run on the development machine (no GPU there, docs/tensorrt.md)."""
import json
import shutil
import threading

import numpy as np
import pytest

from lsnet.cli import main
from lsnet.commands.compare import synthetic_images
from lsnet.errors import LSNetError
from lsnet.export.engine import EngineOptions, build_engine
from lsnet.plugins import find_plugin_library
from lsnet.runtime import load
from lsnet.runtime.compare import agree, compare_detections
from lsnet.runtime.detections import PADDED_OUTPUT_NAMES
from lsnet.runtime.engine_metadata import read_sidecar, sha256_file, sidecar_path
from lsnet.runtime.tensorrt_setup import tensorrt_major

pytestmark = [pytest.mark.gpu, pytest.mark.tensorrt, pytest.mark.slow]

PARITY_SCORE = 0.3  # detections compared above this score
PARITY_IOU = 0.98  # every matched box at least this close to PyTorch's
AP_DROP = 0.01  # FP16 may lose at most this much COCO AP on the synthetic val split


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="module")
def fp16_build(gpu, committed_model, folder):
    """The default build (FP16, static, batch 1), through the command line."""
    engine = folder / "fp16.engine"
    code = main(["export", "engine", str(committed_model), "--out", str(engine),
                 "--timing-cache", str(folder / "timing.cache")])
    assert code == 0
    return engine


@pytest.fixture(scope="module")
def build(gpu, committed_model, folder):
    """build(name, **EngineOptions fields) → engine path, built once per module."""
    built = {}

    def make(name: str, **options):
        if name not in built:
            out = folder / f"{name}.engine"
            build_engine(committed_model, out, EngineOptions(timing_cache=folder / "timing.cache", **options),
                         log=lambda line: None)
            built[name] = out
        return built[name]

    return make


@pytest.fixture(scope="module")
def pytorch(committed_model):
    return load(committed_model)


@pytest.fixture(scope="module")
def scenes(pytorch):
    d = pytorch.description
    return synthetic_images(d.task, 16, seed=0, input_size=d.input_size)


def test_fp16_engine_sidecar_describes_the_build(fp16_build, gpu, tensorrt):
    metadata = read_sidecar(fp16_build)
    assert metadata.engine_sha256 == sha256_file(fp16_build)
    assert metadata.tensorrt_version == tensorrt.__version__
    assert tuple(metadata.compute_capability) == gpu.compute_capability and metadata.gpu_name == gpu.name
    assert metadata.plugin_sha256 == sha256_file(find_plugin_library())
    build = metadata.build
    assert (build["precision"], build["graph"]) == ("fp16", "patched")
    assert build["typing"] == ("strong" if tensorrt_major(tensorrt.__version__) >= 11 else "weak")
    assert build["fp32_layers"], "the decode inputs and offsets are pinned to FP32"
    assert [t.name for t in metadata.outputs] == list(PADDED_OUTPUT_NAMES)
    assert metadata.rebuild_command.startswith("lsnet export engine ")


def test_fp16_engine_detects_what_pytorch_detects(fp16_build, pytorch, scenes):
    engine = load(fp16_build)
    summary = compare_detections(pytorch.predict(scenes), engine.predict(scenes), score=PARITY_SCORE)
    assert summary["reference_detections"] > 0
    assert agree(summary, PARITY_IOU), summary


def test_fp16_engine_loses_at_most_0_01_ap_on_the_synthetic_val_split(fp16_build, committed_model, folder):
    data = folder / "synth"
    assert main(["data", "synth", "--task", "bbox", "--out", str(data), "--train", "0", "--val", "200"]) == 0
    ap = {}
    for name, model in (("pytorch", committed_model), ("tensorrt", fp16_build)):
        report = folder / f"eval_{name}.json"
        assert main(["eval", str(model), "--data", str(data), "--json", str(report)]) == 0
        ap[name] = json.loads(report.read_text())["bbox"]["AP"]
    assert ap["pytorch"] - ap["tensorrt"] <= AP_DROP, ap


def test_a_dynamic_engine_serves_two_threads_as_it_serves_one(build, scenes):
    """Compared above PARITY_SCORE, not at the decoder's own 0.05 threshold, where a detection scored
    just above it by one context and just below by the other would be missing; the two profiles may
    time different FP16 kernels, so boxes agree to rounding (IoU ≥ 0.99), not bit for bit."""
    engine = build("dynamic", dynamic=True, batch=4, contexts=2)
    assert len(read_sidecar(engine).profiles) == 2
    detector = load(engine, contexts=2)
    alone = [detector.predict(image) for image in scenes[:8]]
    together: dict[int, object] = {}

    def work(indices):
        for i in indices:
            together[i] = detector.predict(scenes[i])

    threads = [threading.Thread(target=work, args=(range(start, 8, 2),)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = compare_detections(alone, [together[i] for i in range(8)], score=PARITY_SCORE)
    assert summary["reference_detections"] > 0
    assert agree(summary, min_iou=0.99), summary
    batched = detector.predict(scenes[:3])  # a batch below the profile's largest, on one canvas
    assert len(batched) == 3


def test_cuda_graph_replays_give_the_same_outputs(fp16_build, scenes):
    from lsnet.runtime.backends.cuda_graph import driver_bindings
    from lsnet.runtime.preprocess import preprocess

    try:
        driver_bindings()
    except LSNetError as e:
        pytest.skip(f"needs cuda-python for CUDA graphs: {e}")

    plain, graphed = load(fp16_build), load(fp16_build, cuda_graph=True)
    batch, _ = preprocess(scenes[:1], plain.description)
    for _ in range(2):  # the second replay reuses the captured graph
        expected, actual = plain.infer(batch), graphed.infer(batch)
        for name in PADDED_OUTPUT_NAMES:
            np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def test_an_engine_from_another_tensorrt_release_is_refused(fp16_build, tmp_path):
    copy = tmp_path / "copy.engine"
    shutil.copyfile(fp16_build, copy)
    sidecar = json.loads(sidecar_path(fp16_build).read_text())
    sidecar["tensorrt_version"] = "9.9.9"
    sidecar_path(copy).write_text(json.dumps(sidecar))
    with pytest.raises(LSNetError, match=r"was built with TensorRT 9\.9\.9 but this machine has TensorRT"):
        load(copy)


def test_a_portable_fp32_engine_uses_tensorrts_own_layers_and_agrees_with_pytorch(build, pytorch, scenes):
    engine = build("portable_fp32", portable=True, precision="fp32")
    metadata = read_sidecar(engine)
    assert metadata.plugin_library is None and metadata.build["graph"] == "portable"
    summary = compare_detections(pytorch.predict(scenes), load(engine).predict(scenes), score=PARITY_SCORE)
    assert agree(summary, PARITY_IOU), summary


def test_int8_calibrates_on_images_and_writes_its_cache(build, tensorrt, folder, scenes):
    if tensorrt_major(tensorrt.__version__) >= 11:
        pytest.skip("TensorRT 11 has no calibrators: its INT8 is the Q/DQ graph (test_explicit_*)")
    import cv2

    images = folder / "calibration"
    images.mkdir(exist_ok=True)
    for index, image in enumerate(scenes):
        cv2.imwrite(str(images / f"{index:03d}.png"), image)
    engine = build("int8", precision="int8", calib_images=images)
    assert (folder / "int8.engine.calib").is_file()
    assert read_sidecar(engine).build["precision"] == "int8"
    outputs = load(engine).predict(scenes[:2])
    assert len(outputs) == 2


@pytest.fixture(scope="module")
def synth(folder):
    """The committed model's synthetic dataset: 64 train images to calibrate on, its 200-image val split."""
    data = folder / "synth_explicit"
    assert main(["data", "synth", "--task", "bbox", "--out", str(data), "--train", "64", "--val", "200"]) == 0
    return data


@pytest.fixture(scope="module")
def explicit(gpu, committed_model, folder, synth):
    """explicit(precision) → (its ONNX, its engine): `lsnet export quantize` then `export engine`, once each."""
    pytest.importorskip("modelopt.onnx.quantization", reason="needs NVIDIA ModelOpt: pip install 'lsnet-trt[quantize]'")
    portable = folder / "explicit.onnx"
    made = {}

    def make(precision: str):
        if precision not in made:
            if not portable.is_file():
                assert main(["export", "onnx", str(committed_model), "--out", str(portable)]) == 0
            model = folder / f"explicit.{precision}.onnx"
            extra = ["--calib", str(synth), "--calib-images", "64"] if precision == "int8" else []
            assert main(["export", "quantize", str(portable), f"--{precision}", "--out", str(model), *extra]) == 0
            engine = folder / f"explicit.{precision}.engine"
            assert main(["export", "engine", str(model), "--out", str(engine),
                         "--timing-cache", str(folder / "timing.cache")]) == 0
            made[precision] = (model, engine)
        return made[precision]

    return make


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_explicit_engines_are_built_strongly_typed_from_the_graph(explicit, precision):
    build = read_sidecar(explicit(precision)[1]).build
    assert (build["precision"], build["typing"], build["explicit_precision"]) == (precision, "strong", True)
    assert build["calibration"] is None and build["graph"] == "patched"


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_explicit_engines_lose_at_most_0_01_ap_and_match_their_onnx(explicit, committed_model, synth, folder,
                                                                     precision):
    model, engine = explicit(precision)
    ap = {}
    for name, path in (("pytorch", committed_model), ("onnx", model), ("tensorrt", engine)):
        report = folder / f"eval_explicit_{precision}_{name}.json"
        assert main(["eval", str(path), "--data", str(synth), "--json", str(report)]) == 0
        ap[name] = json.loads(report.read_text())["bbox"]["AP"]
    assert ap["pytorch"] - ap["tensorrt"] <= AP_DROP, ap
    assert abs(ap["onnx"] - ap["tensorrt"]) <= AP_DROP, ap  # ONNX Runtime measured what TensorRT runs


def test_a_portable_explicit_int8_engine_builds_with_tensorrts_own_layers(explicit, folder, pytorch, scenes):
    model, _ = explicit("int8")
    engine = folder / "explicit.int8.portable.engine"
    assert main(["export", "engine", str(model), "--portable", "--out", str(engine)]) == 0
    assert read_sidecar(engine).plugin_library is None
    summary = compare_detections(pytorch.predict(scenes), load(engine).predict(scenes), score=PARITY_SCORE)
    assert summary["matched"] >= 0.9 * summary["reference_detections"], summary

def test_bench_measures_the_engine(fp16_build, folder):
    report = folder / "bench.json"
    assert main(["bench", str(fp16_build), "--backends", "tensorrt", "--runs", "20", "--warmup", "5",
                 "--frames", "8", "--json", str(report)]) == 0
    entry = json.loads(report.read_text())["backends"]["tensorrt"]
    assert entry["median_ms"] > 0 and entry["fps"] > 0


def test_triton_repository_of_a_real_engine(fp16_build, tmp_path):
    assert main(["export", "triton", str(fp16_build), "--repo", str(tmp_path)]) == 0
    config = (tmp_path / "lsnet" / "config.pbtxt").read_text()
    assert 'platform: "tensorrt_plan"' in config and 'name: "landmarks"' in config
    assert load(tmp_path / "lsnet" / "1" / "model.plan").description == load(fp16_build).description


def frames_of(scenes, hw) -> list:
    import cv2

    return [cv2.resize(image, (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR) for image in scenes]


def test_a_frames_engine_takes_uint8_frames_and_detects_what_pytorch_detects(build, pytorch, scenes):
    """The letterbox on the GPU: 720p and 1080p frames straight from pinned memory."""
    engine = build("frames", frames=True, dynamic=True, batch=2, imgsz=(1080, 1920), max_imgsz=(1080, 1920))
    metadata = read_sidecar(engine)
    assert metadata.description.takes_frames and metadata.description.input_size == pytorch.description.input_size
    assert (metadata.inputs[0].name, metadata.inputs[0].dtype) == ("frames", "uint8")
    detector = load(engine)
    for hw in ((720, 1280), (1080, 1920)):
        frames = frames_of(scenes[:8], hw)
        summary = compare_detections(pytorch.predict(frames), detector.predict(frames), score=PARITY_SCORE)
        assert summary["reference_detections"] > 0 and agree(summary, PARITY_IOU), (hw, summary)
    assert len(detector.predict(frames_of(scenes[:2], (1080, 1920)))) == 2  # one batch of two
    with pytest.raises(LSNetError, match=r"a 3840×2160 frame is outside the engine's frame sizes"):
        detector.predict(np.zeros((2160, 3840, 3), np.uint8))


def test_bench_times_host_and_gpu_preprocessing_of_1080p_frames(build, committed_model, folder):
    engine = build("frames_static", frames=True)  # static: 1×1080×1920×3
    video = folder / "video_1080p.mp4"
    assert main(["data", "video", "--task", "bbox", "--out", str(video), "--frames", "30",
                 "--size", "1920", "1080"]) == 0
    report = folder / "bench_frames.json"
    assert main(["bench", str(engine), "--checkpoint", str(committed_model), "--video", str(video),
                 "--runs", "20", "--json", str(report)]) == 0
    backends = json.loads(report.read_text())["backends"]
    assert backends["tensorrt"]["pre_ms"] * 5 <= backends["pytorch"]["pre_ms"]
