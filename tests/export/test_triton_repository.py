"""`lsnet export triton`: config.pbtxt, layout and notes, generated from fabricated engine sidecars."""
import pytest
from engine_fixtures import fabricated_engine, fabricated_metadata

from lsnet.cli import main
from lsnet.errors import LSNetError
from lsnet.export.triton import triton_config, triton_readme
from lsnet.runtime.engine_metadata import read_sidecar

DYNAMIC_BATCH_CONFIG = '''name: "lsnet"
platform: "tensorrt_plan"
max_batch_size: 8
input [
  {
    name: "images"
    data_type: TYPE_FP32
    dims: [ 3, -1, -1 ]
  }
]
output [
  {
    name: "num_dets"
    data_type: TYPE_INT32
    dims: [ 1 ]
  },
  {
    name: "boxes"
    data_type: TYPE_FP32
    dims: [ 100, 4 ]
  },
  {
    name: "scores"
    data_type: TYPE_FP32
    dims: [ 100 ]
  },
  {
    name: "labels"
    data_type: TYPE_INT32
    dims: [ 100 ]
  },
  {
    name: "landmarks"
    data_type: TYPE_FP32
    dims: [ 100, 4, 2 ]
  }
]
dynamic_batching {
  max_queue_delay_microseconds: 100
}
instance_group [
  {
    count: 2
    kind: KIND_GPU
    gpus: [ 0 ]
  }
]
'''


def test_an_engine_with_a_dynamic_batch_gets_triton_batching():
    assert triton_config(fabricated_metadata(), "lsnet", instances=2, gpus=[0]) == DYNAMIC_BATCH_CONFIG


def test_a_static_engine_gets_full_dims_and_no_batching():
    metadata = fabricated_metadata(min_shape=(2, 3, 512, 512), opt_shape=(2, 3, 512, 512), max_shape=(2, 3, 512, 512))
    config = triton_config(metadata, "detector")
    assert 'name: "detector"' in config and "max_batch_size: 0" in config
    assert "dims: [ 2, 3, 512, 512 ]" in config and "dims: [ 2, 100, 4 ]" in config
    assert "dynamic_batching" not in config


def test_several_profiles_give_each_instance_its_own():
    config = triton_config(fabricated_metadata(profiles=2), "lsnet", instances=2)
    assert config.count("count: 1") == 2 and 'profile: [ "0" ]' in config and 'profile: [ "1" ]' in config
    with pytest.raises(LSNetError, match=r"3 instances need 3 optimisation profiles .* --contexts 3"):
        triton_config(fabricated_metadata(profiles=2), "lsnet", instances=3)


def test_a_frames_engine_takes_uint8_frames_of_any_size_in_triton():
    from lsnet.description import ModelDescription
    from lsnet.runtime.engine_metadata import TensorSpec

    description = ModelDescription(task="bbox", class_names=["a"], input_size=(192, 192), input_kind="frames")
    metadata = fabricated_metadata(description=description, inputs=[TensorSpec("frames", "uint8", [-1, -1, -1, 3])])
    metadata.build["profiles"] = [{"input": "frames", "min": [1, 32, 32, 3], "opt": [8, 1080, 1920, 3],
                                   "max": [8, 2160, 3840, 3]}]
    config = triton_config(metadata, "lsnet")
    assert 'name: "frames"\n    data_type: TYPE_UINT8\n    dims: [ -1, -1, 3 ]' in config
    text = triton_readme(metadata, "lsnet")
    assert "`frames` uint8 [B, H, W, 3]" in text and "in frame pixels" in text and "canvas pixels" not in text


def test_readme_says_how_to_load_the_plugin_library_and_which_tensorrt_to_run():
    text = triton_readme(fabricated_metadata(), "lsnet")
    assert "LD_PRELOAD=/path/to/liblsnet_trt_plugins_autoreg.so tritonserver --model-repository=REPO" in text
    assert "--backend-config=tensorrt,plugins=" in text and "a" * 64 in text
    assert "TensorRT 10.3.0" in text and "compute capability 8.7" in text
    assert "lsnet export engine model.pt --out model.engine" in text
    portable = triton_readme(fabricated_metadata(plugins=False), "lsnet")
    assert "LD_PRELOAD=" not in portable and "No LD_PRELOAD needed" in portable


def test_export_triton_writes_the_repository_layout(tmp_path, capsys):
    engine = fabricated_engine(tmp_path)
    assert main(["export", "triton", str(engine), "--repo", str(tmp_path / "repo"), "--name", "shapes"]) == 0
    model = tmp_path / "repo" / "shapes"
    assert (model / "1" / "model.plan").read_bytes() == engine.read_bytes()
    assert read_sidecar(model / "1" / "model.plan") == read_sidecar(engine)  # the plan loads with lsnet too
    assert 'name: "shapes"' in (model / "config.pbtxt").read_text()
    assert '"class_names": [\n    "ellipse",' in (model / "description.json").read_text()
    assert "LD_PRELOAD" in (model / "README.md").read_text()
    out = capsys.readouterr().out
    assert f"wrote {model}/config.pbtxt" in out and "next: tritonserver" in out


@pytest.mark.parametrize("args, message", [
    (["--name", "../up"], "--name must be a plain folder name"),
    (["--instances", "0"], "--instances: must be an integer ≥ 1, got 0"),
])
def test_export_triton_rejects_bad_options(tmp_path, capsys, args, message):
    engine = fabricated_engine(tmp_path)
    assert main(["export", "triton", str(engine), "--repo", str(tmp_path / "repo"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_export_triton_needs_the_engine_and_its_sidecar(tmp_path, capsys):
    assert main(["export", "triton", str(tmp_path / "missing.engine"), "--repo", str(tmp_path)]) == 2
    assert "engine" in capsys.readouterr().err
    (tmp_path / "lonely.engine").write_bytes(b"x")
    assert main(["export", "triton", str(tmp_path / "lonely.engine"), "--repo", str(tmp_path)]) == 2
    assert "has no sidecar lonely.engine.json" in capsys.readouterr().err
