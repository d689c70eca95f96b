"""`lsnet export engine` where no GPU is needed: argument handling, option checks, what the source
is, the rebuild command, and the one-line errors where TensorRT is missing."""
import shlex
from pathlib import Path

import onnx
import pytest

from lsnet.cli import build_parser, main
from lsnet.commands.export import engine_options
from lsnet.description import ONNX_METADATA_KEY, ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.engine import (EngineOptions, check_options, prepare_onnx, rebuild_command, source_kind,
                                 source_precision)
from lsnet.runtime.tensorrt_setup import import_tensorrt


def tensorrt_installed() -> bool:
    try:
        import_tensorrt()
    except LSNetError:
        return False
    return True


needs_no_tensorrt = pytest.mark.skipif(tensorrt_installed(), reason="TensorRT is installed here")


def onnx_with_metadata(path: Path, metadata: dict[str, str]) -> Path:
    x = onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, 64, 64])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["images"], ["y"])], "g", [x],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 64, 64])])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 19)])
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)
    return path


DESCRIPTION = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 64)).to_json()


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@needs_no_tensorrt
def test_export_engine_without_tensorrt_is_a_one_line_error(tmp_path, capsys):
    source = onnx_with_metadata(tmp_path / "model.onnx", {ONNX_METADATA_KEY: DESCRIPTION})
    code, err = run(capsys, "export", "engine", str(source), "--out", str(tmp_path / "model.engine"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: TensorRT is not installed here") and "use the .onnx with ONNX Runtime" in err
    assert not (tmp_path / "model.engine").exists()


@pytest.mark.parametrize("name, content, message", [
    ("missing.onnx", None, "not found"),
    ("model.txt", "x", "expected a checkpoint (.pt) or an ONNX file (.onnx)"),
    ("foreign.onnx", {}, "is not an lsnet model"),
])
def test_a_bad_source_is_reported_before_tensorrt_is_looked_for(tmp_path, capsys, name, content, message):
    source = tmp_path / name
    if isinstance(content, dict):
        onnx_with_metadata(source, content)
    elif content is not None:
        source.write_text(content)
    code, err = run(capsys, "export", "engine", str(source))
    assert code == 2 and message in err and err.count("\n") == 1


def test_source_kind_tells_checkpoints_portable_and_patched_onnx_apart(small_checkpoint, tmp_path):
    assert source_kind(small_checkpoint) == "checkpoint"
    portable = onnx_with_metadata(tmp_path / "model.onnx", {ONNX_METADATA_KEY: DESCRIPTION})
    assert source_kind(portable) == "portable"
    patched = onnx_with_metadata(tmp_path / "model.trt.onnx", {ONNX_METADATA_KEY: DESCRIPTION, "lsnet_patched": "{}"})
    assert source_kind(patched) == "patched"
    with pytest.raises(LSNetError, match="is patched with plugin nodes; --portable builds from the portable export"):
        prepare_onnx(patched, "patched", EngineOptions(portable=True), tmp_path, print)
    assert prepare_onnx(portable, "portable", EngineOptions(portable=True), tmp_path, print) == (portable, "portable")


@pytest.mark.parametrize("options, major, message", [
    (EngineOptions(precision="int8", calib_images=Path("images")), 11, "INT8 on TensorRT 11 needs Q/DQ"),
    (EngineOptions(precision="int8"), 10, "--int8 needs --calib-images DIR"),
    (EngineOptions(calib_images=Path("images")), 10, "--calib-images and --calib-cache are for --int8 builds"),
    (EngineOptions(precision="bf16"), 10, "precision must be one of fp32, fp16, int8"),
    (EngineOptions(contexts=0), 10, "--contexts must be ≥ 1"),
    (EngineOptions(workspace_mb=0), 10, "--workspace must be a positive number of MB"),
])
def test_impossible_option_combinations_are_refused_up_front(options, major, message):
    with pytest.raises(LSNetError, match=message):
        check_options(options, major)


def test_int8_with_an_existing_calibration_cache_needs_no_images(tmp_path):
    cache = tmp_path / "model.engine.calib"
    cache.write_bytes(b"cache")
    check_options(EngineOptions(precision="int8", calib_cache=cache), 10)


def test_fp16_and_fp32_build_on_tensorrt_10_and_11():
    for major in (10, 11):
        check_options(EngineOptions(), major)
        check_options(EngineOptions(precision="fp32"), major)


def test_the_rebuild_command_parses_back_to_the_same_options():
    options = EngineOptions(precision="int8", dynamic=True, batch=4, imgsz=(512, 640), max_imgsz=(800, 1216),
                            contexts=2, workspace_mb=2048, calib_images=Path("calib images"),
                            timing_cache=Path("t.cache"), plugins=Path("lib.so"), portable=True)
    command = rebuild_command(Path("model.pt"), Path("out/model.engine"), options)
    assert command.startswith("lsnet export engine model.pt --out out/model.engine --int8")
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert engine_options(args) == options
    assert rebuild_command(Path("m.onnx"), Path("m.engine"), EngineOptions()) == "lsnet export engine m.onnx --out m.engine"
    frames = EngineOptions(frames=True, dynamic=True, imgsz=(720, 1280), max_imgsz=(2160, 3840))
    args = build_parser().parse_args(shlex.split(rebuild_command(Path("m.pt"), Path("m.engine"), frames))[1:])
    assert engine_options(args) == frames


def test_engine_help_names_every_option(capsys):
    assert main(["export", "engine", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--fp32", "--int8", "--calib-images", "--calib-cache", "--portable", "--batch", "--imgsz",
                   "--dynamic", "--min-imgsz", "--max-imgsz", "--contexts", "--workspace", "--timing-cache",
                   "--plugins", "--device", "--frames"):
        assert option in text


def explicit_onnx(path: Path, kind: str) -> Path:
    """A tiny lsnet-described graph carrying INT8 (Q/DQ) or FP16 itself (test_explicit_precision.tiny_graph)."""
    from test_explicit_precision import tiny_graph

    model = tiny_graph(kind)
    model.metadata_props.add(key=ONNX_METADATA_KEY, value=DESCRIPTION)
    onnx.save(model, path)
    return path


def test_source_precision_is_the_graphs_own(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    assert source_precision(tmp_path / "model.pt", "checkpoint") == "fp32"
    portable = onnx_with_metadata(tmp_path / "model.onnx", {ONNX_METADATA_KEY: DESCRIPTION})
    assert source_precision(portable, "portable") == "fp32"
    for kind in ("int8", "fp16"):
        assert source_precision(explicit_onnx(tmp_path / f"model.{kind}.onnx", kind), "portable") == kind


@pytest.mark.parametrize("kind, flag, message", [
    ("int8", "--fp32", "the model is an INT8 graph (its precision is written in it)"),
    ("fp16", "--fp32", "the model is an FP16 graph"),
    ("fp16", "--int8", "FP16 graph without Q/DQ nodes; for INT8 run `lsnet export quantize"),
])
def test_a_precision_contradicting_the_graph_is_refused_before_tensorrt_is_looked_for(tmp_path, capsys, kind, flag,
                                                                                       message):
    source = explicit_onnx(tmp_path / f"model.{kind}.onnx", kind)
    code, err = run(capsys, "export", "engine", str(source), flag, "--out", str(tmp_path / "model.engine"))
    assert code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("major", [10, 11])
def test_an_int8_graph_needs_no_calibration_on_10_or_11(major, tmp_path):
    plan = check_options(EngineOptions(precision="int8"), major, graph="int8")
    assert plan.explicit and plan.strongly_typed and not plan.calibrator
    assert check_options(EngineOptions(), major, graph="int8").precision == "int8"  # the default asks nothing else
    with pytest.raises(LSNetError, match="the model is an INT8 graph: it needs no calibration"):
        check_options(EngineOptions(precision="int8", calib_images=tmp_path), major, graph="int8")


@pytest.mark.parametrize("model, engine", [("model.pt", "model.engine"), ("model.onnx", "model.engine"),
                                           ("model.trt.onnx", "model.engine"), ("model.int8.onnx", "model.int8.engine"),
                                           ("model.fp16.trt.onnx", "model.fp16.engine")])
def test_the_default_engine_name_keeps_the_precision(model, engine):
    from lsnet.commands.export import default_engine_path

    assert default_engine_path(Path("out") / model) == Path("out") / engine
    frames = engine.replace(".engine", ".frames.engine")
    assert default_engine_path(Path("out") / model, frames=True) == Path("out") / frames


def test_a_frames_engine_keeps_the_graphs_canvas_in_its_sidecar_description():
    from lsnet.export.engine import engine_description
    from lsnet.export.engine_profiles import engine_profile

    frames = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 96), input_kind="frames")
    profile = engine_profile(["batch", "height", "width", 3], frames, dynamic=True, input_name="frames")
    assert engine_description(frames, profile).input_size == (64, 96)  # not the 1080×1920 frames of the profile
    images = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 96))
    profile = engine_profile(["batch", 3, "height", "width"], images, imgsz=(128, 160))
    assert engine_description(images, profile).input_size == (128, 160)  # the canvas it is tuned for
    from lsnet.commands.export import default_engine_path

    assert default_engine_path(Path("m.frames.onnx"), frames=True) == Path("m.frames.engine")


def test_a_frames_model_goes_through_the_engine_preparation_like_an_images_model(models, tmp_path):
    """Everything `lsnet export engine` does before TensorRT: what the source is, the patch, the
    profile from the ONNX input, the FP32 layers."""
    from lsnet.description import onnx_metadata, read_onnx_record
    from lsnet.export.engine import input_shape
    from lsnet.export.engine_precision import fp32_tensor_names
    from lsnet.export.engine_profiles import engine_profile

    portable = models.frames("bbox").portable
    assert source_kind(portable) == "portable"
    patched, kind = prepare_onnx(portable, "portable", EngineOptions(), tmp_path, print)
    assert kind == "patched" and source_kind(patched) == "patched"
    for path in (portable, patched):
        model = onnx.load(path)
        description = read_onnx_record(onnx_metadata(model), path).description
        name, dims = input_shape(model)
        profile = engine_profile(dims, description, dynamic=True, max_imgsz=(1440, 2560), input_name=name)
        assert (name, profile.min, profile.max) == ("frames", (2, 32, 32, 3), (2, 1440, 2560, 3))
        assert {"boxes", "landmarks", "images"} <= set(fp32_tensor_names(model))  # letterbox and mapping in FP32
