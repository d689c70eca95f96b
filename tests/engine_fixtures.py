"""Fabricated engine sidecars for the CPU tests, and where TensorRT is (imported by name: the test
folders have no packages).

They describe engines that were never built — the metadata a real build writes, for testing the
checks and text made from it. No test here passes a fabricated engine to TensorRT.
"""
from pathlib import Path

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.runtime.engine_metadata import EngineMetadata, TensorSpec, sha256_file, write_sidecar
from lsnet.runtime.tensorrt_setup import import_tensorrt

REPO = Path(__file__).resolve().parents[1]
COMMITTED_MODEL = REPO / "models" / "lsnet_bbox_r10_synth.pt"


def tensorrt_missing() -> str | None:
    """Why TensorRT cannot be used here, or None."""
    try:
        import_tensorrt()
    except LSNetError as e:
        return str(e)
    return None

OUTPUT_SPECS = [("num_dets", "int32", [1]), ("boxes", "float32", [100, 4]), ("scores", "float32", [100]),
                ("labels", "int32", [100]), ("landmarks", "float32", [100, 4, 2])]


def fabricated_metadata(min_shape=(1, 3, 64, 64), opt_shape=(8, 3, 512, 512), max_shape=(8, 3, 512, 512),
                        profiles: int = 1, plugins: bool = True, **changes) -> EngineMetadata:
    batch = -1 if min_shape[0] != max_shape[0] else max_shape[0]
    size = [-1, -1] if min_shape[2:] != max_shape[2:] else list(max_shape[2:])
    profile = {"input": "images", "min": list(min_shape), "opt": list(opt_shape), "max": list(max_shape)}
    fields = dict(
        description=ModelDescription(task="bbox", class_names=["ellipse", "triangle"], input_size=opt_shape[2:]),
        tensorrt_version="10.3.0.30", gpu_name="Orin", compute_capability=(8, 7), engine_sha256="0" * 64,
        inputs=[TensorSpec("images", "float32", [batch, 3, *size])],
        outputs=[TensorSpec(name, dtype, [batch, *shape]) for name, dtype, shape in OUTPUT_SPECS],
        build={"source": "model.pt", "graph": "patched" if plugins else "portable", "precision": "fp16",
               "typing": "weak", "profiles": [profile] * profiles, "workspace_mb": None,
               "fp32_layers": ["head/cls_out"], "timing_cache": None, "calibration": None},
        rebuild_command="lsnet export engine model.pt --out model.engine",
        plugin_library="/opt/lsnet/liblsnet_trt_plugins.so" if plugins else None,
        plugin_sha256="a" * 64 if plugins else None, lsnet_version="0.1.0", export={"checkpoint": "model.pt"})
    return EngineMetadata(**{**fields, **changes})


def fabricated_engine(folder: Path, **metadata_changes) -> Path:
    """An `.engine` file of arbitrary bytes with a sidecar whose hash matches it (for file-handling tests)."""
    engine = folder / "model.engine"
    engine.write_bytes(b"not a real TensorRT engine")
    write_sidecar(fabricated_metadata(engine_sha256=sha256_file(engine), **metadata_changes), engine)
    return engine
