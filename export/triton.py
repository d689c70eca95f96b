"""`lsnet export triton`: a Triton Inference Server model repository around a built engine.

    REPO/NAME/config.pbtxt          platform tensorrt_plan; inputs/outputs from the engine's sidecar
    REPO/NAME/1/model.plan          the engine
    REPO/NAME/1/model.plan.json     its sidecar (so `lsnet infer REPO/NAME/1/model.plan …` works too)
    REPO/NAME/description.json      the model description, for clients: classes, normalisation
    REPO/NAME/README.md             how to start tritonserver with the plugin library, pre/post-processing

Pure text from the sidecar: no TensorRT needed, tested on CPU with fabricated sidecars. An engine
whose profile lets the batch vary from 1 gets Triton's batching (`max_batch_size` = the profile's
largest batch, dims without the batch, dynamic batching); any other engine gets
`max_batch_size: 0` and full dims.
"""
from __future__ import annotations

import json
from pathlib import Path

from lsnet.errors import LSNetError
from lsnet.files import atomic_copy, atomic_write
from lsnet.runtime.engine_metadata import EngineMetadata, TensorSpec, read_sidecar, sidecar_path

TRITON_TYPES = {"float32": "TYPE_FP32", "float16": "TYPE_FP16", "int32": "TYPE_INT32", "int64": "TYPE_INT64",
                "int8": "TYPE_INT8", "uint8": "TYPE_UINT8", "bool": "TYPE_BOOL"}


def batches_dynamically(metadata: EngineMetadata) -> bool:
    profile = metadata.profiles[0]
    return profile["min"][0] == 1 and profile["max"][0] > 1


def _tensor_block(spec: TensorSpec, batched: bool) -> str:
    if spec.dtype not in TRITON_TYPES:
        raise LSNetError(f"engine tensor {spec.name} has type {spec.dtype}, which Triton's config has no name for")
    dims = spec.shape[1:] if batched else spec.shape
    return (f"  {{\n    name: \"{spec.name}\"\n    data_type: {TRITON_TYPES[spec.dtype]}\n"
            f"    dims: [ {', '.join(map(str, dims))} ]\n  }}")


def _instance_groups(metadata: EngineMetadata, instances: int, gpus: list[int] | None) -> str:
    """One group for a one-profile engine; one per instance, each with its own profile, otherwise
    (TensorRT: every concurrently used context of a dynamic engine needs a profile of its own)."""
    placement = f"\n    gpus: [ {', '.join(map(str, gpus))} ]" if gpus else ""
    profiles = len(metadata.profiles)
    if profiles == 1:
        return f"instance_group [\n  {{\n    count: {instances}\n    kind: KIND_GPU{placement}\n  }}\n]"
    if instances > profiles:
        raise LSNetError(f"{instances} instances need {instances} optimisation profiles and the engine has {profiles}; "
                         f"rebuild it with `lsnet export engine … --contexts {instances}`")
    groups = [f"  {{\n    count: 1\n    kind: KIND_GPU{placement}\n    profile: [ \"{i}\" ]\n  }}" for i in range(instances)]
    return "instance_group [\n" + ",\n".join(groups) + "\n]"


def triton_config(metadata: EngineMetadata, name: str, instances: int = 1, gpus: list[int] | None = None,
                  max_queue_delay_us: int = 100) -> str:
    """config.pbtxt of the model `name`."""
    if instances < 1:
        raise LSNetError(f"--instances must be ≥ 1, got {instances}")
    batched = batches_dynamically(metadata)
    lines = [f"name: \"{name}\"", "platform: \"tensorrt_plan\"",
             f"max_batch_size: {metadata.profiles[0]['max'][0] if batched else 0}",
             "input [\n" + ",\n".join(_tensor_block(t, batched) for t in metadata.inputs) + "\n]",
             "output [\n" + ",\n".join(_tensor_block(t, batched) for t in metadata.outputs) + "\n]"]
    if batched:
        lines.append(f"dynamic_batching {{\n  max_queue_delay_microseconds: {max_queue_delay_us}\n}}")
    lines.append(_instance_groups(metadata, instances, gpus))
    return "\n".join(lines) + "\n"


def _input_notes(d, profile: dict) -> str:
    outputs = "Outputs `num_dets` [B, 1], `boxes` [B, K, 4], `scores` [B, K], `labels` [B, K], `landmarks` [B, K, N, 2]"
    if d.takes_frames:
        return (f"`{profile['input']}` uint8 [B, H, W, 3], shapes from {profile['min']} to {profile['max']}: BGR "
                "frames as a camera or decoder gives them, one frame size per request batch; the engine resizes, "
                f"pads and normalises them itself. {outputs} in frame pixels.")
    return (f"`{profile['input']}` float32 [B, 3, H, W], shapes from {profile['min']} to {profile['max']}: the image "
            "converted BGR → RGB, resized keeping its aspect ratio to fit the canvas, normalised (x − mean) / std "
            "with the mean and std of `description.json`, zero-padded at the bottom and right "
            f"(`lsnet.runtime.preprocess.preprocess`). {outputs} in canvas pixels; divide by the resize scale for "
            "the original image (`lsnet.runtime.detections.detections_from_padded`).")


def triton_readme(metadata: EngineMetadata, name: str) -> str:
    """Notes for whoever starts tritonserver with this model."""
    d, profile = metadata.description, metadata.profiles[0]
    cc = ".".join(map(str, metadata.compute_capability))
    text = [f"# {name}: LSNet ({d.task}, {d.num_classes} classes) as a TensorRT plan", "",
            f"Built by lsnet {metadata.lsnet_version} with TensorRT {metadata.tensorrt_version} on "
            f"{metadata.gpu_name} (compute capability {cc}), {metadata.build['precision'].upper()}. Triton must run "
            f"the same TensorRT release (pick the Triton container whose release notes list TensorRT "
            f"{'.'.join(metadata.tensorrt_version.split('.')[:3])}) on a GPU of compute capability {cc}; otherwise "
            f"rebuild with `{metadata.rebuild_command}` and export again.", "",
            "## Input and output", "", _input_notes(d, profile), ""]
    if metadata.plugin_library:
        text += ["## The plugin library", "",
                 "The plan contains LSNet plugin layers (LSNetPyramidDCN, LSNetDecode, namespace `lsnet`). "
                 "tritonserver must have their creators registered before it loads the model. Preload the "
                 "self-registering flavour of the plugin library, `liblsnet_trt_plugins_autoreg.so`, built on the "
                 "serving machine with the same sources (trt_plugins/README.md) — this plan was built with "
                 f"{metadata.plugin_library} (SHA-256 {metadata.plugin_sha256}):", "",
                 "    LD_PRELOAD=/path/to/liblsnet_trt_plugins_autoreg.so tritonserver --model-repository=REPO", "",
                 "or `--backend-config=tensorrt,plugins=/path/to/liblsnet_trt_plugins_autoreg.so`. (The plain "
                 "`liblsnet_trt_plugins.so` registers only through `getCreators`, which tritonserver never calls.)",
                 ""]
    else:
        text += ["## Plugins", "", "Built from the portable graph: only NVIDIA's own plugins, which tritonserver "
                 "registers itself. No LD_PRELOAD needed.", ""]
    return "\n".join(text)


def write_triton_repository(engine: str | Path, repo: str | Path, name: str = "lsnet", instances: int = 1,
                            gpus: list[int] | None = None, max_queue_delay_us: int = 100) -> Path:
    """Writes REPO/NAME (module docstring) for `engine`; returns REPO/NAME."""
    engine, repo = Path(engine), Path(repo)
    if not engine.is_file():
        raise LSNetError(f"engine {engine} not found")
    if not name or "/" in name or name.startswith("."):
        raise LSNetError(f"--name must be a plain folder name, got {name!r}")
    metadata = read_sidecar(engine)
    config = triton_config(metadata, name, instances, gpus, max_queue_delay_us)
    model = repo / name
    atomic_copy(engine, model / "1" / "model.plan")
    atomic_copy(sidecar_path(engine), sidecar_path(model / "1" / "model.plan"))
    atomic_write(model / "config.pbtxt", config)
    atomic_write(model / "description.json", json.dumps(metadata.description.to_dict(), indent=2, sort_keys=True) + "\n")
    atomic_write(model / "README.md", triton_readme(metadata, name))
    return model
