"""`lsnet export engine`: a TensorRT engine from a checkpoint, a portable ONNX or a patched ONNX.

On the way, in a temporary folder: a `.pt` is exported (`onnx_export`), a portable ONNX patched
with our plugin nodes (`patch`) — unless `portable=True`, which leaves DeformConv, GridSample and
NonMaxSuppression to TensorRT's own ONNX parser. Then:

1. TensorRT, pycuda and the GPU are opened together (`lsnet.runtime.tensorrt_setup`); NVIDIA's
   plugins and, for a patched graph, ours are loaded, and the ONNX is parsed (DeformConv needs the
   parser of TensorRT ≥ 10.1);
2. one optimisation profile per execution context (`engine_profiles`; TensorRT wants a profile
   of its own for every concurrently used context of a dynamic engine);
3. precision (`engine_typing.build_plan`): a graph with its precision written in it (`lsnet export
   quantize`: INT8 Q/DQ or FP16) is built strongly typed as written, on TensorRT 10 and 11. An FP32
   graph: TensorRT 10 — `BuilderFlag.FP16`, with the layers of `engine_precision.fp32_nodes` pinned
   to FP32 under `OBEY_PRECISION_CONSTRAINTS` (and, as a fallback, `INT8` with an entropy
   calibrator, `calibration`); TensorRT 11 removed the precision flags and calibrators and builds
   strongly typed: FP16 is written into the ONNX (`engine_precision.to_float16`, same FP32 nodes),
   INT8 needs the Q/DQ graph. TF32 is cleared in every build, so FP32 layers compute in FP32
   (`_precision_flags`);
4. workspace limit and timing cache (loaded if usable, else a new one with a warning; saved after
   the build);
5. the engine and its sidecar (`lsnet.runtime.engine_metadata`), both written atomically.
"""
from __future__ import annotations

import hashlib
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx

from lsnet import __version__
from lsnet.artifacts import read_artifact
from lsnet.description import ModelDescription, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError
from lsnet.export.engine_profiles import ShapeProfile, engine_profile
from lsnet.export.engine_typing import BuildPlan, build_plan, check_graph_precision
from lsnet.files import atomic_write
from lsnet.runtime.engine_metadata import EngineMetadata, TensorSpec, sha256_file, write_sidecar
from lsnet.runtime.tensorrt_setup import tensorrt_version

PRECISIONS = ("fp32", "fp16", "int8")
DEFORM_CONV_PARSER = (10, 1)  # the first TensorRT whose ONNX parser imports DeformConv


@dataclass
class EngineOptions:
    precision: str = "fp16"
    portable: bool = False  # TensorRT's own DeformConv / GridSample / NMS instead of our plugins
    batch: int | None = None
    imgsz: tuple[int, int] | None = None
    dynamic: bool = False
    min_imgsz: tuple[int, int] | None = None
    max_imgsz: tuple[int, int] | None = None
    contexts: int = 1
    workspace_mb: int | None = None  # None: TensorRT's default (the GPU's memory)
    timing_cache: Path | None = None
    calib_images: Path | None = None
    calib_cache: Path | None = None
    plugins: Path | None = None  # None: lsnet.plugins.find_plugin_library()
    device: str = "cuda"
    max_candidates: int = 4096  # LSNetDecode, when patching on the way
    opset: int = 19  # when exporting a .pt on the way
    frames: bool = False  # a frames engine (uint8 frames in, `lsnet export onnx --frames`) from a .pt or images ONNX
    verbose: bool = False


def check_options(options: EngineOptions, tensorrt_major: int, graph: str = "fp32") -> BuildPlan:
    """The build plan; LSNetError for option combinations no build can satisfy, before any work is done.

    `graph`: the precision written in the model ("fp32" for a checkpoint or a plain export).
    """
    if options.precision not in PRECISIONS:
        raise LSNetError(f"precision must be one of {', '.join(PRECISIONS)}, got {options.precision!r}")
    plan = build_plan(graph, options.precision, tensorrt_major)
    if plan.calibrator:
        if options.calib_images is None and not (options.calib_cache and Path(options.calib_cache).is_file()):
            raise LSNetError("--int8 needs --calib-images DIR (or an existing --calib-cache FILE)")
    elif options.calib_images is not None or options.calib_cache is not None:
        if plan.explicit:
            raise LSNetError(f"the model is an {graph.upper()} graph: it needs no calibration (its Q/DQ nodes carry "
                             "it); drop --calib-images and --calib-cache")
        raise LSNetError("--calib-images and --calib-cache are for --int8 builds")
    if options.contexts < 1:
        raise LSNetError(f"--contexts must be ≥ 1, got {options.contexts}")
    if options.workspace_mb is not None and options.workspace_mb <= 0:
        raise LSNetError(f"--workspace must be a positive number of MB, got {options.workspace_mb}")
    return plan


def check_parser_support(model: onnx.ModelProto, version: str) -> None:
    """LSNetError where this TensorRT's ONNX parser cannot import the graph: DeformConv before 10.1."""
    if tensorrt_version(version) < DEFORM_CONV_PARSER and any(n.op_type == "DeformConv" for n in model.graph.node):
        raise LSNetError(f"TensorRT {version}'s ONNX parser cannot import DeformConv (this model's DCNv2 tower or "
                         "backbone convolutions): it needs TensorRT 10.1 or newer. Upgrade TensorRT (JetPack 6.1 and "
                         "6.2 ship 10.3; on x86-64 pip install 'tensorrt-cu12>=10.1'), or use the .onnx with ONNX Runtime")


def source_kind(source: Path) -> str:
    """"checkpoint" (.pt), "portable" (an `lsnet export onnx` file) or "patched" (after `lsnet export patch`)."""
    if source.suffix.lower() not in (".pt", ".onnx"):
        raise LSNetError(f"{source}: expected a checkpoint (.pt) or an ONNX file (.onnx)")
    artifact = read_artifact(source)  # every field of its description checked
    if artifact.kind == "checkpoint":
        return "checkpoint"
    return "patched" if artifact.patched else "portable"


def source_precision(source: Path, kind: str) -> str:
    """The precision written in the source: "fp32" for a checkpoint, else the ONNX graph's own."""
    if kind == "checkpoint":
        return "fp32"
    from lsnet.export.explicit_precision import graph_precision

    return graph_precision(onnx.load(source, load_external_data=False))


def input_shape(model: onnx.ModelProto) -> tuple[str, list]:
    """Name and dimensions of the one graph input: ints where fixed, names where symbolic."""
    (graph_input,) = model.graph.input
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in graph_input.type.tensor_type.shape.dim]
    return graph_input.name, dims


def prepare_onnx(source: Path, kind: str, options: EngineOptions, folder: Path,
                 log: Callable[[str], None]) -> tuple[Path, str]:
    """The ONNX file to parse and its kind ("patched" or "portable"), made in `folder` if needed."""
    if kind == "patched" and options.portable:
        raise LSNetError(f"{source} is patched with plugin nodes; --portable builds from the portable export")
    if kind == "checkpoint":
        from lsnet.export.onnx_export import export_onnx

        log(f"exporting {source} to ONNX (opset {options.opset}{', frames' if options.frames else ''}) …")
        # A frames engine's --imgsz is a frame size: the canvas stays the checkpoint's input size.
        source = export_onnx(source, folder / f"{source.stem}.onnx", dynamic=options.dynamic,
                             batch=options.batch or 1, imgsz=None if options.frames else options.imgsz,
                             opset=options.opset, frames=options.frames)
        kind = "portable"
    elif options.frames:
        source = _frames_model(source, kind, folder, log)
    if kind == "portable" and not options.portable:
        from lsnet.export.patch import patch_onnx

        report = patch_onnx(source, folder / f"{source.stem}.trt.onnx", max_candidates=options.max_candidates)
        log(f"patched: {report.summary()}")
        return report.out, "patched"
    return source, kind


def _frames_model(source: Path, kind: str, folder: Path, log: Callable[[str], None]) -> Path:
    """--frames on an ONNX: a frames model stays as it is; a portable images model gets the letterbox."""
    model = onnx.load(source)
    if read_onnx_record(onnx_metadata(model), source).description.takes_frames:
        return source
    if kind == "patched":
        raise LSNetError(f"{source} is a patched images model; --frames builds from the portable export (or "
                         "`lsnet export onnx CKPT --frames`)")
    from lsnet.export.frames_graph import add_frames_input

    out = folder / f"{source.stem}.frames.onnx"
    onnx.save(add_frames_input(model), out)
    log(f"frames model: {out.name} (the letterbox inside the graph)")
    return out


# EngineOptions field → its `lsnet export engine` option (precision and verbose are handled apart).
CLI_OPTIONS = {"portable": "--portable", "batch": "--batch", "imgsz": "--imgsz", "dynamic": "--dynamic",
               "min_imgsz": "--min-imgsz", "max_imgsz": "--max-imgsz", "contexts": "--contexts",
               "workspace_mb": "--workspace", "timing_cache": "--timing-cache", "calib_images": "--calib-images",
               "calib_cache": "--calib-cache", "plugins": "--plugins", "device": "--device",
               "max_candidates": "--max-candidates", "opset": "--opset", "frames": "--frames"}


def rebuild_command(source: Path, out: Path, options: EngineOptions) -> str:
    """The `lsnet export engine` command line that builds this engine again."""
    args = ["lsnet", "export", "engine", str(source), "--out", str(out)]
    if options.precision != "fp16":
        args.append(f"--{options.precision}")
    defaults = EngineOptions()
    for name, flag in CLI_OPTIONS.items():
        value = getattr(options, name)
        if value == getattr(defaults, name):
            continue
        if isinstance(value, bool):
            args.append(flag)
        elif isinstance(value, tuple):
            args += [flag, *map(str, value)]
        else:
            args += [flag, str(value)]
    return shlex.join(args)


@dataclass
class EngineReport:
    out: Path
    sidecar: Path
    metadata: EngineMetadata
    profile: ShapeProfile
    seconds: float

    def summary(self) -> str:
        build = self.metadata.build
        return (f"{build['precision'].upper()} ({build['typing']}ly typed, {len(build['fp32_layers'])} layers kept "
                f"FP32), {build['graph']} graph, {self.profile.describe()}, TensorRT {self.metadata.tensorrt_version} "
                f"on {self.metadata.gpu_name}, built in {self.seconds:.0f} s")


def build_engine(source: str | Path, out: str | Path, options: EngineOptions | None = None,
                 log: Callable[[str], None] = print) -> EngineReport:
    """Builds `out` (and `out`.json) from `source` (.pt, portable or patched .onnx) on this machine's GPU."""
    from lsnet.runtime.tensorrt_setup import TensorRTSetup, import_tensorrt, tensorrt_major

    source, out, options = Path(source), Path(out), options or EngineOptions()
    kind = source_kind(source)  # bad input is reported before TensorRT is even looked for
    graph = source_precision(source, kind)
    check_graph_precision(graph, options.precision)
    plan = check_options(options, tensorrt_major(import_tensorrt().__version__), graph)
    if plan.calibrator and options.calib_cache is None:  # kept next to the engine for rebuilds
        options = replace(options, calib_cache=out.with_name(out.name + ".calib"))
    setup = TensorRTSetup.open(options.device, options.verbose)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lsnet-engine-") as tmp:
        onnx_path, graph_kind = prepare_onnx(source, kind, options, Path(tmp), log)
        model = onnx.load(onnx_path)
        check_parser_support(model, setup.version)
        record = read_onnx_record(onnx_metadata(model), onnx_path)
        description = record.description
        name, dims = input_shape(model)
        profile = engine_profile(dims, description, batch=options.batch, imgsz=options.imgsz, dynamic=options.dynamic,
                                 min_imgsz=options.min_imgsz, max_imgsz=options.max_imgsz, input_name=name)
        copies = 1 if profile.fixed else options.contexts  # one profile per concurrent context of a dynamic engine
        log(f"profile: {profile.describe()}" + (f", ×{copies} for {copies} contexts" if copies > 1 else ""))
        onnx_path, pin_tensors, fp32_nodes = _apply_precision(model, onnx_path, plan, Path(tmp), log)
        library = _plugin_library(graph_kind, options)
        with setup.current():  # TensorRT and pycuda (calibration buffers) use this GPU's primary context
            serialized, network_io, pinned = _build(setup, onnx_path, description, profile, copies, options,
                                                    library, plan, pin_tensors, log)
    atomic_write(out, serialized)
    built = EngineMetadata(
        description=engine_description(description, profile),
        tensorrt_version=setup.version, gpu_name=setup.gpu.name, compute_capability=setup.gpu.compute_capability,
        engine_sha256=hashlib.sha256(serialized).hexdigest(), inputs=network_io[0], outputs=network_io[1],
        build={"source": str(source), "graph": graph_kind, "precision": plan.precision,
               "typing": plan.typing, "explicit_precision": plan.explicit,
               "profiles": [profile.to_dict()] * copies,
               "workspace_mb": options.workspace_mb, "fp32_layers": fp32_nodes or pinned,
               "timing_cache": str(options.timing_cache) if options.timing_cache else None,
               "calibration": _calibration_record(options, plan)},
        rebuild_command=rebuild_command(source, out, options),
        plugin_library=str(library) if library else None, plugin_sha256=sha256_file(library) if library else None,
        lsnet_version=__version__, export=record.export_info)
    return EngineReport(out, write_sidecar(built, out), built, profile, time.perf_counter() - started)


def engine_description(description: ModelDescription, profile: ShapeProfile) -> ModelDescription:
    """The sidecar's description: input_size is the canvas the engine is tuned for (the profile's opt),
    except for a frames engine, whose profile is over frame sizes and whose canvas is the graph's."""
    if description.takes_frames:
        return description
    return ModelDescription.from_dict({**description.to_dict(), "input_size": list(profile.opt[2:])})


def _apply_precision(model: onnx.ModelProto, onnx_path: Path, plan: BuildPlan, folder: Path,
                     log: Callable[[str], None]) -> tuple[Path, set[str], list[str]]:
    """(ONNX to parse, tensors whose layers TensorRT 10 pins to FP32, nodes the parsed graph computes in FP32)."""
    if plan.explicit:
        from lsnet.export.explicit_precision import float32_nodes

        kept = float32_nodes(model)
        log(f"{plan.precision.upper()} graph: built strongly typed as written ({len(kept)} nodes FP32 in it)")
        return onnx_path, set(), kept
    from lsnet.export.engine_precision import fp32_tensor_names, to_float16

    if plan.pin_fp32:
        return onnx_path, set(fp32_tensor_names(model)), []
    if not plan.write_float16:
        return onnx_path, set(), []
    half, kept = to_float16(model)
    onnx.save(half, folder / "model.fp16.onnx")
    log(f"strongly typed build: wrote FP16 types into the ONNX; FP32 nodes ({len(kept)}): {', '.join(kept)}")
    return folder / "model.fp16.onnx", set(), kept


def _plugin_library(graph_kind: str, options: EngineOptions) -> Path | None:
    """Our plugin library, needed by a patched graph only."""
    if graph_kind != "patched":
        return None
    from lsnet.plugins import find_plugin_library

    library = Path(options.plugins) if options.plugins else find_plugin_library()
    if not library.is_file():
        raise LSNetError(f"plugin library {library} not found")
    return library


def _calibration_record(options: EngineOptions, plan: BuildPlan) -> dict | None:
    """The TensorRT 10 calibrator's inputs; an explicit INT8 graph's calibration is in its export record."""
    if not plan.calibrator:
        return None
    return {"images": str(options.calib_images) if options.calib_images else None,
            "cache": str(options.calib_cache) if options.calib_cache else None, "algorithm": "entropy2"}


def _tensor_specs(trt, tensors) -> list[TensorSpec]:
    return [TensorSpec(t.name, np.dtype(trt.nptype(t.dtype)).name, [int(d) for d in t.shape]) for t in tensors]


def _parse(trt, logger, network, onnx_path: Path) -> None:
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [parser.get_error(i) for i in range(parser.num_errors)]
        first = errors[0] if errors else None
        where = f" at node {first.node_name()} ({first.node_operator()})" if first and first.node_name() else ""
        raise LSNetError(f"TensorRT's ONNX parser rejected the model{where}: "
                         f"{first.desc() if first else 'no reason given'} ({len(errors)} error(s))")


def _pin_fp32(trt, network, tensor_names: set[str]) -> list[str]:
    """TensorRT 10: the layers writing `tensor_names` compute and output FP32; their names."""
    pinned = []
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        outputs = [k for k in range(layer.num_outputs) if layer.get_output(k).name in tensor_names
                   and layer.get_output(k).dtype in (trt.float32, trt.float16)]
        if outputs:
            layer.precision = trt.float32
            for k in outputs:
                layer.set_output_type(k, trt.float32)
            pinned.append(layer.name)
    return pinned


def _timing_cache(config, path: Path | None, log: Callable[[str], None]) -> None:
    """The timing cache of `path` if it is usable here, else a new one (with a warning): never a failed build.

    TensorRT rejects a cache from another GPU or release (set_timing_cache → False); a damaged file
    may also make create_timing_cache fail or return None, depending on the release."""
    data = path.read_bytes() if path and path.is_file() else b""
    if data:
        try:
            cache = config.create_timing_cache(data)
            accepted = cache is not None and config.set_timing_cache(cache, False)
        except (TypeError, RuntimeError, ValueError):
            accepted = False
        if accepted:
            log(f"timing cache: reusing {path} ({len(data) / 1e6:.1f} MB)")
            return
        log(f"warning: timing cache {path} is damaged or from another GPU or TensorRT release; starting a new one "
            "(it is replaced after the build)")
    config.set_timing_cache(config.create_timing_cache(b""), False)


def _precision_flags(trt, config, plan: BuildPlan, log: Callable[[str], None]) -> None:
    """Builder precision flags: `plan.builder_flags` (`engine_typing`). TF32 is cleared in every
    build: TensorRT enables it by default, and it would round the inputs of FP32 layers — all of an
    --fp32 build, and the layers kept in FP32 in FP16/INT8 builds (engine_precision) — to 10-bit
    mantissas. TensorRT 10 weakly typed pins those layers under OBEY_PRECISION_CONSTRAINTS; a
    strongly typed build (TensorRT 11 always, TensorRT 10 for an INT8 or FP16 graph) has no FP16 or
    INT8 flag or per-layer precision: the FP32 request is the float32 types the ONNX keeps, and TF32,
    still a builder flag there, is cleared the same way."""
    config.clear_flag(trt.BuilderFlag.TF32)
    for name in plan.builder_flags:  # FP16 is also INT8's fallback for layers without INT8 kernels
        config.set_flag(getattr(trt.BuilderFlag, name))
    typing = "strongly typed: precision from the ONNX types" if plan.strongly_typed else "weakly typed"
    log(f"precision flags ({typing}): TF32 off, so FP32 layers compute in full FP32"
        + (f", {' + '.join(plan.builder_flags)} on" if plan.builder_flags else ""))


def _build(setup, onnx_path: Path, description: ModelDescription, profile: ShapeProfile, copies: int,
           options: EngineOptions, library: Path | None, plan: BuildPlan, pin_tensors: set[str],
           log: Callable[[str], None]):
    """Parse, configure and build as `plan` says; (serialized engine, (inputs, outputs), FP32-pinned layer names).

    `setup` is the `TensorRTSetup`. A weakly typed reduced-precision build (TensorRT 10) pins the
    layers writing `pin_tensors` to FP32; a strongly typed build takes every type from the ONNX.
    """
    trt = setup.trt
    setup.load_plugins(library)
    builder = setup.builder()
    # explicit batch is TensorRT 10's only mode; strongly typed is 11's only one, and 10's for explicit graphs
    network = builder.create_network(sum(1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
                                         for name in plan.network_flags))
    log(f"parsing {onnx_path.name} …")
    _parse(trt, setup.logger, network, onnx_path)
    config = builder.create_builder_config()
    if options.workspace_mb:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mb << 20)
    _timing_cache(config, options.timing_cache, log)
    for _ in range(copies):
        shapes = builder.create_optimization_profile()
        shapes.set_shape(profile.input_name, profile.min, profile.opt, profile.max)
        config.add_optimization_profile(shapes)
    _precision_flags(trt, config, plan, log)
    pinned: list[str] = []
    if plan.pin_fp32:
        pinned = _pin_fp32(trt, network, pin_tensors)
        if not pinned:
            raise LSNetError("none of the tensors to keep in FP32 is an output of a parsed layer (did the ONNX parser "
                             "rename them?); build with --fp32 and report this")
        log(f"FP32-pinned layers ({len(pinned)}): {', '.join(pinned)}")
    if plan.calibrator:
        _attach_calibrator(trt, setup.cuda, config, shapes, description, profile, options, log)
    log("building (TensorRT times kernels: minutes on a large GPU, longer on Jetson) …")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise LSNetError("TensorRT could not build the engine (see TensorRT's messages above)")
    if options.timing_cache:
        atomic_write(options.timing_cache, memoryview(config.get_timing_cache().serialize()))
        log(f"timing cache: saved {options.timing_cache}")
    io = (_tensor_specs(trt, [network.get_input(i) for i in range(network.num_inputs)]),
          _tensor_specs(trt, [network.get_output(i) for i in range(network.num_outputs)]))
    return bytes(serialized), io, pinned


def _attach_calibrator(trt, cuda, config, shapes, description: ModelDescription, profile: ShapeProfile,
                       options: EngineOptions, log: Callable[[str], None]) -> None:
    """TensorRT 10 implicit INT8 (the fallback, `engine_typing`): an entropy calibrator over the
    images at the profile's opt shape."""
    from lsnet.export.calibration import calibration_batches, calibration_images, entropy_calibrator

    batch, size = profile.opt[0], profile.hw("opt")  # a canvas, or a frames engine's frame size
    paths = calibration_images(options.calib_images, batch) if options.calib_images else []
    cache = Path(options.calib_cache)
    log(f"INT8 calibration (TensorRT 10's deprecated calibrator, a fallback: `lsnet export quantize --int8` writes "
        f"an INT8 graph that TensorRT 10 and 11 build): {len(paths)} images in batches of {batch} at "
        f"{size[0]}×{size[1]}, cache {cache}")
    config.int8_calibrator = entropy_calibrator(trt, cuda, calibration_batches(paths, description, batch, size),
                                                batch, cache)
    config.set_calibration_profile(shapes)
