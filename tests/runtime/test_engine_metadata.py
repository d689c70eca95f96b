"""`lsnet.runtime.engine_metadata`: the sidecar round-trips, and an engine that cannot run here is
refused with one sentence naming the reason and the rebuild command (fabricated sidecars, no GPU)."""
import json

import pytest
from engine_fixtures import fabricated_engine, fabricated_metadata

from lsnet.errors import LSNetError
from lsnet.runtime.engine_metadata import (EngineMetadata, Machine, check_engine_fits, read_sidecar, sidecar_path,
                                           write_sidecar)

HERE = Machine(tensorrt_version="10.3.0.30", gpu_name="Orin", compute_capability=(8, 7),
               plugin_library="/opt/lsnet/liblsnet_trt_plugins.so", plugin_sha256="a" * 64)


def test_sidecar_sits_beside_the_engine_and_round_trips(tmp_path):
    metadata = fabricated_metadata()
    written = write_sidecar(metadata, tmp_path / "model.engine")
    assert written == sidecar_path(tmp_path / "model.engine") == tmp_path / "model.engine.json"
    again = read_sidecar(tmp_path / "model.engine")
    assert again == metadata
    assert again.description.class_names == ["ellipse", "triangle"] and again.compute_capability == (8, 7)
    assert json.loads(written.read_text())["format"] == "lsnet-engine"


def test_missing_sidecar_says_to_copy_it_or_rebuild(tmp_path):
    with pytest.raises(LSNetError, match=r"model.engine has no sidecar model.engine.json .* copy it along"):
        read_sidecar(tmp_path / "model.engine")


@pytest.mark.parametrize("text, message", [
    ("{not json", "is not valid JSON"),
    ('{"format": "something else"}', "is not an lsnet engine sidecar"),
    ('{"format": "lsnet-engine", "format_version": 99}', "newer than this lsnet"),
    ('{"format": "lsnet-engine", "format_version": 1, "tensorrt_version": "10.3"}', "incomplete or damaged"),
])
def test_damaged_sidecars_are_one_line_errors(tmp_path, text, message):
    sidecar_path(tmp_path / "model.engine").write_text(text)
    with pytest.raises(LSNetError, match=message) as error:
        read_sidecar(tmp_path / "model.engine")
    assert "\n" not in str(error.value)


def test_an_engine_fits_the_machine_that_built_it():
    assert check_engine_fits(fabricated_metadata(), "model.engine", HERE, "0" * 64) == []


def test_another_build_number_of_the_same_tensorrt_release_fits():
    assert check_engine_fits(fabricated_metadata(), "model.engine", Machine("10.3.0.26", "Orin", (8, 7))) == []


def test_another_tensorrt_release_is_refused_with_the_rebuild_command():
    machine = Machine("10.7.0.23", "Orin", (8, 7))
    with pytest.raises(LSNetError) as error:
        check_engine_fits(fabricated_metadata(), "model.engine", machine)
    assert str(error.value) == (
        "model.engine was built with TensorRT 10.3.0.30 but this machine has TensorRT 10.7.0.23; engines run only "
        "under the TensorRT release that built them: rebuild it on this machine with "
        "`lsnet export engine model.pt --out model.engine`")


def test_another_gpu_architecture_is_refused_with_both_capabilities():
    machine = Machine("10.3.0.30", "NVIDIA GeForce RTX 4090", (8, 9))
    with pytest.raises(LSNetError, match=r"built for compute capability 8\.7 \(Orin\) but this GPU is 8\.9 "
                                         r"\(NVIDIA GeForce RTX 4090\).*`lsnet export engine model.pt"):
        check_engine_fits(fabricated_metadata(), "model.engine", machine)


def test_a_sidecar_of_another_engine_is_refused():
    with pytest.raises(LSNetError, match="describes another engine than model.engine"):
        check_engine_fits(fabricated_metadata(), "model.engine", HERE, "f" * 64)


def test_another_gpu_of_the_same_architecture_and_another_plugin_build_only_warn():
    machine = Machine("10.3.0.30", "Jetson AGX Orin", (8, 7), "/usr/lib/liblsnet_trt_plugins.so", "b" * 64)
    warnings = check_engine_fits(fabricated_metadata(), "model.engine", machine)
    assert len(warnings) == 2
    assert "built on Orin and runs on Jetson AGX Orin" in warnings[0]
    assert "plugin library /usr/lib/liblsnet_trt_plugins.so differs" in warnings[1] and "aaaaaaaaaaaa" in warnings[1]


def test_a_portable_engine_has_no_plugin_library_to_check(tmp_path):
    engine = fabricated_engine(tmp_path, plugins=False)
    metadata = read_sidecar(engine)
    assert metadata.plugin_library is None and metadata.build["graph"] == "portable"
    assert check_engine_fits(metadata, engine, Machine("10.3.0.30", "Orin", (8, 7), "x.so", "b" * 64)) == []


def test_unreadable_tensorrt_versions_are_errors():
    with pytest.raises(LSNetError, match="cannot read the TensorRT version"):
        check_engine_fits(fabricated_metadata(), "model.engine", Machine("ten", "Orin", (8, 7)))


def test_metadata_from_dict_refuses_what_is_not_a_mapping():
    with pytest.raises(LSNetError, match="not an lsnet engine sidecar"):
        EngineMetadata.from_dict(["a", "list"], "model.engine.json")


def test_fields_a_newer_lsnet_adds_are_ignored(tmp_path):
    written = write_sidecar(fabricated_metadata(), tmp_path / "model.engine")
    data = json.loads(written.read_text())
    written.write_text(json.dumps({**data, "added_later": {"x": 1}}))
    assert read_sidecar(tmp_path / "model.engine") == fabricated_metadata()
