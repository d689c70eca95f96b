"""`lsnet.artifacts`: one reader for every model file, and what makes two of them the same network."""
import torch

from lsnet.artifacts import network_differences, read_artifact


def test_a_checkpoint_and_its_export_are_the_same_network(small_checkpoint, small_onnx):
    checkpoint, exported = read_artifact(small_checkpoint), read_artifact(small_onnx)
    assert (checkpoint.kind, exported.kind, exported.patched) == ("checkpoint", "onnx", False)
    assert exported.export_info["checkpoint"] == small_checkpoint.name
    assert network_differences(exported, checkpoint) == []


def test_a_checkpoint_written_before_newer_config_keys_is_still_the_same_network(small_checkpoint, small_onnx,
                                                                                   tmp_path):
    ckpt = torch.load(small_checkpoint, weights_only=True)
    for key in ("pos_num", "pose_taps"):  # keys added to the model config after the first checkpoints
        del ckpt["model_config"][key]
    torch.save(ckpt, tmp_path / "old.pt")
    assert network_differences(read_artifact(small_onnx), read_artifact(tmp_path / "old.pt")) == []


def test_another_depth_is_another_network(small_checkpoint, tmp_path):
    ckpt = torch.load(small_checkpoint, weights_only=True)
    ckpt["model_config"]["depth"] = 18
    torch.save(ckpt, tmp_path / "deeper.pt")
    assert network_differences(read_artifact(small_checkpoint), read_artifact(tmp_path / "deeper.pt")) == [
        "depth 10 ≠ 18"]
