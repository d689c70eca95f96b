"""Hostile input, silent wrong results: what used to give a plausible but wrong answer is refused,
or explained by a documented warning. Independent references: pycocotools on the unaltered
annotation file, OpenCV's own decoding of the damaged video."""
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from hostile_helpers import assert_error, assert_warning, edit_json, lsnet

REPO = Path(__file__).resolve().parents[2]
TRAINED = REPO / "models" / "lsnet_bbox_r10_synth.pt"  # a model that finds the synthetic shapes: AP well above 0


def val(dataset: Path) -> Path:
    return dataset / "annotations" / "val.json"


def box_ap(report: Path) -> float:
    return json.loads(report.read_text())["bbox"]["AP"]


# ---- lsnet eval: annotation files that pycocotools mis-scores -------------------------------------

@pytest.mark.parametrize("damage, words", [
    (lambda d: d["annotations"][1].update(id=d["annotations"][0]["id"]), "used more than once"),
    (lambda d: [a.update(id=0) for a in d["annotations"]], "positive integers, found 0"),
    (lambda d: d["annotations"][0].update(image_id=999), "refers to image 999"),
    (lambda d: d.update(images=[], annotations=[]), "has no images"),
    (lambda d: d["annotations"][0].update(bbox=[10, 10, 0, 20]), "degenerate bbox"),
    (lambda d: d["annotations"][0].update(category_id=77), "refers to category 77"),
], ids=["duplicate ids", "zero ids", "missing image id", "no images", "degenerate box", "unknown category"])
def test_eval_refuses_annotation_files_pycocotools_would_mis_score(damage, words, onnx_copy, dataset, capsys):
    edit_json(val(dataset), damage)
    assert_error(lsnet(capsys, "eval", onnx_copy, "--data", dataset), words)


def test_eval_refuses_categories_that_are_not_the_models_classes(onnx_copy, dataset, capsys):
    edit_json(val(dataset), lambda d: [c.update(name=f"class{c['id']}") for c in d["categories"]])
    assert_error(lsnet(capsys, "eval", onnx_copy, "--data", dataset), "are not the dataset's categories",
                 "ellipse", "class1")


def test_eval_matches_categories_numbered_in_another_order_by_name(dataset, tmp_path, capsys):
    assert lsnet(capsys, "eval", TRAINED, "--data", dataset, "--json", tmp_path / "plain.json").code == 0
    expected = box_ap(tmp_path / "plain.json")
    assert expected > 0.05  # a real score, so that a wrong mapping would show

    def renumber(data):  # the same annotations, each category under another id
        new_id = {c["id"]: 100 - c["id"] for c in data["categories"]}
        for c in data["categories"]:
            c["id"] = new_id[c["id"]]
        for a in data["annotations"]:
            a["category_id"] = new_id[a["category_id"]]

    edit_json(val(dataset), renumber)
    outcome = lsnet(capsys, "eval", TRAINED, "--data", dataset, "--json", tmp_path / "renumbered.json")
    assert_warning(outcome, "another order", "matched by name")
    assert box_ap(tmp_path / "renumbered.json") == expected


def test_eval_of_a_dataset_with_some_of_the_models_classes_says_which(dataset, capsys):
    def drop_cross(data):
        cross = next(c["id"] for c in data["categories"] if c["name"] == "cross")
        data["categories"] = [c for c in data["categories"] if c["id"] != cross]
        data["annotations"] = [a for a in data["annotations"] if a["category_id"] != cross]

    edit_json(val(dataset), drop_cross)
    assert_warning(lsnet(capsys, "eval", TRAINED, "--data", dataset), "4 of the model's 5 classes")


def test_eval_refuses_a_set_with_missing_image_files_before_predicting(onnx_copy, dataset, capsys):
    (dataset / "val" / "000003.jpg").unlink()
    assert_error(lsnet(capsys, "eval", onnx_copy, "--data", dataset), "1 of the 4 images are missing", "000003.jpg")


def test_eval_refuses_images_of_another_size_than_annotated(onnx_copy, dataset, capsys):
    image = dataset / "val" / "000002.jpg"
    cv2.imwrite(str(image), cv2.resize(cv2.imread(str(image)), None, fx=0.5, fy=0.5))  # a resized copy
    assert_error(lsnet(capsys, "eval", onnx_copy, "--data", dataset), "000002.jpg is", "the images are not the ones annotated")


def test_eval_refuses_a_video_of_another_size_than_its_annotations(onnx_copy, tmp_path, capsys):
    ann = tmp_path / "video.json"
    assert lsnet(capsys, "data", "video", "--task", "bbox", "--out", tmp_path / "small.mp4", "--frames", "3",
                 "--size", "96", "64", "--annotations", ann).code == 0
    assert lsnet(capsys, "data", "video", "--task", "bbox", "--out", tmp_path / "large.mp4", "--frames", "3",
                 "--size", "128", "96").code == 0
    assert_error(lsnet(capsys, "eval", onnx_copy, "--ann", ann, "--images", tmp_path / "large.mp4"),
                 "frame frame_000000.jpg", "is 128×96 but its annotations are of a 96×64 image")


# ---- lsnet infer: damaged inputs ------------------------------------------------------------------

def test_infer_says_how_many_frames_a_damaged_video_lost(onnx_copy, tmp_path, capsys):
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(40):
        writer.write(np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(whole.read_bytes()[:whole.stat().st_size // 4])  # the header still says 40 frames
    capture = cv2.VideoCapture(str(damaged))
    decodable = 0
    while capture.read()[0]:
        decodable += 1
    assert 0 < decodable < 40
    outcome = lsnet(capsys, "infer", onnx_copy, damaged, "--out", tmp_path / "out.avi", "--quiet")
    assert_warning(outcome, f"declares 40 frames but only {decodable} could be decoded: {40 - decodable} missing")


def test_infer_on_a_folder_skips_an_unreadable_file_and_counts_it(onnx_copy, folder, tmp_path, capsys):
    (folder / "1b.jpg").write_text("a text file named .jpg")
    outcome = lsnet(capsys, "infer", onnx_copy, folder, "--out", tmp_path / "drawn", "--quiet")
    assert_warning(outcome, "skipped 1 unreadable file of 4")
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == ["0.png", "1.png", "2.png"]


@pytest.mark.parametrize("option, value", [("--score", "nan"), ("--score", "1.5"), ("--score", "-0.1")])
def test_infer_refuses_a_score_outside_zero_to_one(option, value, onnx_copy, image, capsys):
    assert_error(lsnet(capsys, "infer", onnx_copy, image, option, value), f"argument {option}", "between 0 and 1")


@pytest.mark.parametrize("option", ["--match-iou", "--min-iou"])
def test_compare_refuses_an_iou_outside_zero_to_one(option, checkpoint_copy, onnx_copy, capsys):
    assert_error(lsnet(capsys, "compare", checkpoint_copy, onnx_copy, option, "2"), option, "between 0 and 1")


# ---- model files whose description does not fit the network -----------------------------------------

def _with_metadata(source: Path, target: Path, change) -> Path:
    model = onnx.load(source)
    metadata = {p.key: p.value for p in model.metadata_props}
    change(metadata)
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, target)
    return target


def _without_export_record(change):
    """`change`, and the export record dropped (an older export): the graph's outputs are then the check."""
    def edit(metadata):
        change(metadata)
        metadata.pop("lsnet_export")
    return edit


def _edit_description(change):
    def edit(metadata):
        description = json.loads(metadata["lsnet_description"])
        change(description)
        metadata["lsnet_description"] = json.dumps(description)
    return edit


@pytest.mark.parametrize("change, words", [
    (_edit_description(lambda d: d.update(std=[58.4, 0.0, 57.4])), "std (R, G, B) must be a list of finite numbers > 0"),
    (_edit_description(lambda d: d.update(task="segm", num_landmarks=36, box_source="landmark_extent")),
     "the network is a bbox model with 5 classes but its description is a segm model"),
    (_without_export_record(_edit_description(lambda d: d.update(task="pose", num_landmarks=17, box_source=""))),
     "outputs 4 landmarks per detection but its description is a pose model"),
    (_edit_description(lambda d: d.update(class_names=["a", "b", "c"])), "5 classes but its description"),
], ids=["std 0", "task of another network", "task against the graph's outputs", "fewer class names than classes"])
def test_an_onnx_whose_description_does_not_fit_the_network_is_refused(change, words, small_onnx, image, tmp_path,
                                                                        capsys):
    model = _with_metadata(small_onnx, tmp_path / "edited.onnx", change)
    assert_error(lsnet(capsys, "infer", model, image, "--out", tmp_path / "o.png"), words)
    assert not (tmp_path / "o.png").exists()


def test_an_engine_sidecar_of_another_task_than_its_outputs_is_refused(sidecar, image, capsys):
    engine = sidecar(lambda d: d["description"].update(task="pose", num_landmarks=17, box_source=""))
    assert_error(lsnet(capsys, "infer", engine, image), "outputs 4 landmarks per detection", "pose model with 17")


# ---- bench and compare of different models ----------------------------------------------------------

@pytest.fixture
def other_network(tmp_path) -> Path:
    """A checkpoint of another network (depth 18): what a wrong --checkpoint would bring."""
    from small_model import small_description

    from lsnet.model.checkpoint import save_checkpoint
    from lsnet.model.config import ModelConfig
    from lsnet.model.lsnet import LSNet

    model = LSNet(ModelConfig(task="bbox", num_classes=5, depth=18, fpn_channels=16, head_channels=16, gn_groups=4,
                              stacked_convs=1, tower="norm"))
    save_checkpoint(tmp_path / "other.pt", model, small_description())
    return tmp_path / "other.pt"


def test_bench_refuses_a_checkpoint_of_another_network(onnx_copy, other_network, capsys):
    assert_error(lsnet(capsys, "bench", onnx_copy, "--checkpoint", other_network, "--runs", "1"),
                 f"{other_network} is not the model", "depth 10 ≠ 18")


def test_bench_refuses_the_checkpoint_it_finds_next_to_the_model_if_another_network(onnx_copy, other_network, capsys):
    shutil.copy(other_network, onnx_copy.with_suffix(".pt"))
    assert_error(lsnet(capsys, "bench", onnx_copy, "--runs", "1"), "is not the model", "depth 10 ≠ 18")


# ---- lsnet train: what it claims ------------------------------------------------------------------

@pytest.mark.parametrize("override", ["epochs=-1", "epochs=0", "max_iters=-5", "batch=-2"])
def test_train_refuses_counts_that_train_nothing(override, dataset, tiny_train, tmp_path, capsys):
    key = override.split("=")[0]
    assert_error(lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}", override),
                 f"config: {key} must be an integer")
    assert not (tmp_path / "run").exists()


def test_resuming_a_finished_run_says_so_instead_of_claiming_files(dataset, tiny_train, tmp_path, capsys):
    run = tmp_path / "run"
    assert lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={run}", "max_iters=1").code == 0
    before = (run / "last.pt").read_bytes()
    outcome = lsnet(capsys, "train", f"out={run}", "--resume")
    assert outcome.code == 0 and "already complete (1 iteration): nothing to train" in outcome.out
    assert "wrote" not in outcome.out and (run / "last.pt").read_bytes() == before


def test_train_refuses_a_val_split_of_other_categories(dataset, tiny_train, tmp_path, capsys):
    edit_json(val(dataset), lambda d: d["categories"][0].update(name="hexagon"))
    assert_error(lsnet(capsys, "train", *tiny_train, f"data={dataset}", f"out={tmp_path / 'run'}"),
                 "are not the dataset's categories", "hexagon")
