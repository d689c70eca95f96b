"""The one reader of what a model file says about itself — `.pt`, `.onnx` (portable or patched)
and `.engine` / `.plan` with its sidecar alike — every field checked (docs/architecture.md §1).

Light at import time: torch, onnx and ONNX Runtime are imported only for the file type that
needs them, so the runtime reads `.onnx` and `.engine` descriptions without torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lsnet.description import ModelDescription, OnnxRecord, onnx_metadata, read_onnx_record
from lsnet.errors import LSNetError, first_line

CHECKPOINT_SUFFIXES = (".pt",)
ONNX_SUFFIXES = (".onnx",)
ENGINE_SUFFIXES = (".engine", ".plan")


@dataclass
class Artifact:
    path: Path
    kind: str  # "checkpoint", "onnx" or "engine"
    description: ModelDescription
    model_config: dict | None  # the architecture: a checkpoint's, or what the export recorded (None if not)
    export_info: dict  # what `lsnet export onnx` recorded; {} for a checkpoint
    patched: bool = False  # an ONNX with lsnet plugin nodes (`lsnet export patch`)


def read_onnx_file(path: str | Path) -> OnnxRecord:
    """The lsnet metadata of an ONNX file, through the onnx package, or ONNX Runtime where only
    the runtime is installed."""
    path = Path(path)
    try:
        import onnx
    except ImportError:
        return _read_onnx_with_onnxruntime(path)
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise LSNetError(f"{path} is not an ONNX model ({first_line(e)})") from None
    return read_onnx_record(onnx_metadata(model), path)


def _read_onnx_with_onnxruntime(path: Path) -> OnnxRecord:
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # ONNX Runtime's errors share no base class beyond Exception
        raise LSNetError(f"{path} is not an ONNX model ONNX Runtime can read ({first_line(e)})") from None
    return read_onnx_record(session.get_modelmeta().custom_metadata_map, path)


def read_artifact(path: str | Path) -> Artifact:
    """The checked description (and what else the file records) of any lsnet model file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise LSNetError(f"model file {path} not found")
    if suffix in CHECKPOINT_SUFFIXES:
        from lsnet.model.checkpoint import checkpoint_description, read_checkpoint
        from lsnet.model.config import ModelConfig

        ckpt = read_checkpoint(path)
        config = ModelConfig.from_dict(ckpt["model_config"]).to_dict()  # with the defaults of keys added since
        return Artifact(path, "checkpoint", checkpoint_description(ckpt, path), config, {})
    if suffix in ONNX_SUFFIXES:
        record = read_onnx_file(path)
        return Artifact(path, "onnx", record.description, record.export_info.get("model_config"), record.export_info,
                        record.patched is not None)
    if suffix in ENGINE_SUFFIXES:
        from lsnet.runtime.engine_metadata import read_sidecar

        metadata = read_sidecar(path)
        return Artifact(path, "engine", metadata.description, metadata.export.get("model_config"), metadata.export,
                        metadata.plugin_library is not None)
    raise LSNetError(f"{path} is not a model file: expected {', '.join(CHECKPOINT_SUFFIXES + ONNX_SUFFIXES + ENGINE_SUFFIXES)}")


# Model-config keys that do not change the network a checkpoint holds.
_NOT_ARCHITECTURE = ("pretrained",)


def network_differences(a: Artifact, b: Artifact) -> list[str]:
    """How two model files differ as networks: their descriptions (`ModelDescription.differences`)
    and, where both record it, their architecture (backbone depth, channels, …)."""
    differences = a.description.differences(b.description)
    if a.model_config is not None and b.model_config is not None:
        differences += [f"{key} {a.model_config.get(key)} ≠ {b.model_config.get(key)}"
                        for key in sorted(set(a.model_config) | set(b.model_config))
                        if key not in _NOT_ARCHITECTURE and a.model_config.get(key) != b.model_config.get(key)]
    return differences
