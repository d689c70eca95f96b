"""What a TensorRT engine carries beside it: the sidecar `E.json` (docs/architecture.md §1).

A serialised engine runs only under the TensorRT version and on the GPU architecture that built
it, and only with the plugin library it was built against loaded. `lsnet export engine` writes,
next to `model.engine`, `model.engine.json` holding the model description, those facts and the
build options; loading an engine reads it first, so that a mismatch is one plain sentence with
the command that rebuilds the engine, not a deserialisation failure deep inside TensorRT.

No TensorRT here: data and checks only, so every rule is tested on machines without a GPU.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from lsnet import validation as check
from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.files import atomic_write
from lsnet.runtime.detections import check_outputs

FORMAT = "lsnet-engine"
FORMAT_VERSION = 1


def sidecar_path(engine: str | Path) -> Path:
    """`model.engine` → `model.engine.json`."""
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class TensorSpec:
    """One engine input or output: numpy dtype name and shape, -1 for a dimension the profile varies."""

    name: str
    dtype: str
    shape: list[int]


@dataclass
class EngineMetadata:
    description: ModelDescription
    tensorrt_version: str  # e.g. "10.3.0.30"
    gpu_name: str
    compute_capability: tuple[int, int]
    engine_sha256: str  # ties the sidecar to its engine: a rebuilt engine with a stale sidecar is caught
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    # Options the engine was built with: source, graph ("patched" | "portable"), precision, typing,
    # profiles (list of {"input", "min", "opt", "max"}), workspace_mb, fp32_layers, calibration.
    build: dict
    rebuild_command: str  # the `lsnet export engine …` that made it, for error messages
    plugin_library: str | None = None  # None: the graph has no lsnet plugin nodes (--portable)
    plugin_sha256: str | None = None
    lsnet_version: str = ""
    export: dict = field(default_factory=dict)  # the ONNX export record (checkpoint, opset, …)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def profiles(self) -> list[dict]:
        return self.build["profiles"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["description"] = self.description.to_dict()
        d["compute_capability"] = list(self.compute_capability)
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "EngineMetadata":
        """The sidecar, every field checked (types, a profile per context, outputs that fit the
        description), or one line saying what is wrong and how to rebuild."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise LSNetError(f"{where} is not an lsnet engine sidecar (no \"format\": \"{FORMAT}\")")
        version = check.integer(d.get("format_version", 0), "format_version", where, 1)
        if version > FORMAT_VERSION:
            raise LSNetError(f"{where} has sidecar format {version}, newer than this lsnet ({FORMAT_VERSION}); "
                             "upgrade lsnet-trt")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in d]
        if missing:
            raise LSNetError(f"{where} is incomplete or damaged (it lacks {', '.join(missing)}); rebuild the engine with "
                             "`lsnet export engine`")
        known = {f.name for f in fields(cls)}  # a newer lsnet may add fields this one does not read
        for name in ("tensorrt_version", "gpu_name", "engine_sha256", "rebuild_command"):
            check.text(d[name], name, where)
        for name in ("plugin_library", "plugin_sha256"):
            if d.get(name) is not None:
                check.text(d[name], name, where)
        check.mapping(d["build"], "build", where)
        check.mapping(d.get("export", {}), "export", where)
        description = ModelDescription.from_dict(d["description"], f"{where}: model description")
        metadata = cls(**{**{k: v for k, v in d.items() if k in known}, "description": description,
                          "compute_capability": tuple(check.integers(d["compute_capability"], "compute_capability",
                                                                     where, length=2, minimum=0)),
                          "inputs": _tensor_specs(d["inputs"], "inputs", where),
                          "outputs": _tensor_specs(d["outputs"], "outputs", where)})
        _check_profiles(metadata.build.get("profiles"), where)
        check_outputs(description, {t.name: t.shape for t in metadata.outputs}, where)
        return metadata


def _tensor_specs(value, name: str, where: str) -> list[TensorSpec]:
    specs = []
    for item in check.sequence(value, name, where, min_length=1):
        entry = check.mapping(item, f"an entry of {name}", where)
        if not (isinstance(entry.get("name"), str) and isinstance(entry.get("dtype"), str)):
            raise LSNetError(f"{where}: an entry of {name} lacks its name or dtype: {entry!r}")
        shape = check.integers(entry.get("shape"), f"the shape of {entry['name']}", where, minimum=-1)
        specs.append(TensorSpec(entry["name"], entry["dtype"], shape))
    return specs


def _check_profiles(profiles, where: str) -> None:
    """One or more optimisation profiles, each {"input", "min", "opt", "max"} with min ≤ opt ≤ max."""
    for profile in check.sequence(profiles, "build.profiles", where, min_length=1):
        profile = check.mapping(profile, "a profile", where)
        check.text(profile.get("input"), "a profile's input", where)
        shapes = [check.integers(profile.get(key), f"a profile's {key}", where, length=4, minimum=1)
                  for key in ("min", "opt", "max")]
        if not all(a <= b <= c for a, b, c in zip(*shapes)):
            raise LSNetError(f"{where}: a profile's shapes are not min ≤ opt ≤ max: {shapes}")


def write_sidecar(metadata: EngineMetadata, engine: str | Path) -> Path:
    return atomic_write(sidecar_path(engine), json.dumps(metadata.to_dict(), indent=2, sort_keys=True) + "\n")


def read_sidecar(engine: str | Path) -> EngineMetadata:
    path = sidecar_path(engine)
    if not path.is_file():
        raise LSNetError(f"{engine} has no sidecar {path.name} beside it (the model description and build facts "
                         "`lsnet export engine` writes); copy it along with the engine, or rebuild the engine")
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LSNetError(f"{path} is not valid JSON ({e}); rebuild the engine with `lsnet export engine`") from None
    return EngineMetadata.from_dict(data, str(path))


@dataclass(frozen=True)
class Machine:
    """What the loading machine offers, as the TensorRT backend measures it."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: tuple[int, int]
    plugin_library: str | None = None
    plugin_sha256: str | None = None


def release(version: str) -> tuple[int, ...]:
    """"10.3.0.30" → (10, 3, 0): the part that must match (the build number does not change the format)."""
    try:
        return tuple(int(part) for part in version.split(".")[:3])
    except ValueError:
        raise LSNetError(f"cannot read the TensorRT version {version!r}") from None


def check_engine_fits(metadata: EngineMetadata, engine: str | Path, machine: Machine,
                      engine_sha256: str | None = None) -> list[str]:
    """LSNetError if the engine cannot run on `machine`; otherwise the warnings worth printing.

    Errors: another TensorRT release, another compute capability (TensorRT engines hold kernels
    for one architecture and one TensorRT release), a sidecar of another engine. A different
    plugin library is a warning: a rebuild of the same sources (another compiler, another
    architecture list) has another hash yet is compatible, and a real mismatch still stops
    TensorRT's deserialisation, whose error then names the library.
    """
    rebuild = f"rebuild it on this machine with `{metadata.rebuild_command}`"
    if engine_sha256 is not None and engine_sha256 != metadata.engine_sha256:
        raise LSNetError(f"{sidecar_path(engine).name} describes another engine than {engine} (SHA-256 differs); "
                         f"copy the engine and its sidecar together, or {rebuild}")
    if release(metadata.tensorrt_version) != release(machine.tensorrt_version):
        raise LSNetError(f"{engine} was built with TensorRT {metadata.tensorrt_version} but this machine has TensorRT "
                         f"{machine.tensorrt_version}; engines run only under the TensorRT release that built them: "
                         f"{rebuild}")
    built_cc, here_cc = tuple(metadata.compute_capability), tuple(machine.compute_capability)
    if built_cc != here_cc:
        raise LSNetError(f"{engine} was built for compute capability {built_cc[0]}.{built_cc[1]} "
                         f"({metadata.gpu_name}) but this GPU is {here_cc[0]}.{here_cc[1]} ({machine.gpu_name}); "
                         f"engines hold kernels for one GPU architecture: {rebuild}")
    warnings = []
    if metadata.gpu_name != machine.gpu_name:
        warnings.append(f"{engine} was built on {metadata.gpu_name} and runs on {machine.gpu_name} (same compute "
                        f"capability, so it loads; kernels were timed on the other GPU — {rebuild} for best speed)")
    if metadata.plugin_sha256 and machine.plugin_sha256 and metadata.plugin_sha256 != machine.plugin_sha256:
        warnings.append(f"the plugin library {machine.plugin_library} differs from the one {engine} was built with "
                        f"({metadata.plugin_library}, SHA-256 {metadata.plugin_sha256[:12]}…); fine for a rebuild "
                        f"of the same sources, otherwise {rebuild}")
    return warnings
