"""`lsnet.export.calibration`: which images calibrate (a COCO layout's train split, spread over it), and
INT8 calibration batches are THE pre-processing of the runtime."""
import cv2
import numpy as np
import pytest

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.calibration import calibration_batches, calibration_folder, calibration_images, select_images
from lsnet.runtime.preprocess import preprocess

DESCRIPTION = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 96))


def write_images(folder, count: int) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index:03d}.png"), rng.integers(0, 255, (40 + index, 70, 3), dtype=np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return sorted(folder.glob("*.png"))


def test_calibration_images_are_the_folders_images_in_name_order(tmp_path):
    paths = write_images(tmp_path / "calib", 5)
    assert calibration_images(tmp_path / "calib", batch=2) == paths


def test_batches_are_full_and_equal_to_the_runtime_preprocessing(tmp_path):
    paths = write_images(tmp_path / "calib", 5)
    batches = list(calibration_batches(paths, DESCRIPTION, batch=2, canvas_hw=(64, 96)))
    assert len(batches) == 2  # the fifth image would make a partial batch: TensorRT calibrates at one batch size
    expected, _ = preprocess([cv2.imread(str(p)) for p in paths[2:4]], DESCRIPTION, (64, 96))
    np.testing.assert_array_equal(batches[1], expected)
    assert batches[0].dtype == np.float32 and batches[0].flags.c_contiguous


def test_a_frames_engine_calibrates_on_uint8_frames_of_its_opt_frame_size(tmp_path):
    paths = write_images(tmp_path / "calib", 4)
    frames = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 96), input_kind="frames")
    batches = list(calibration_batches(paths, frames, batch=2, canvas_hw=(720, 1280)))
    assert [b.shape for b in batches] == [(2, 720, 1280, 3)] * 2 and batches[0].dtype == np.uint8
    np.testing.assert_array_equal(batches[1][0], cv2.resize(cv2.imread(str(paths[2])), (1280, 720)))


@pytest.mark.parametrize("count, message", [(None, "does not exist"), (1, "has 1 images, fewer than one calibration batch of 4")])
def test_too_few_calibration_images_are_refused(tmp_path, count, message):
    if count is not None:
        write_images(tmp_path / "calib", count)
    with pytest.raises(LSNetError, match=message):
        calibration_images(tmp_path / "calib", batch=4)


def test_a_coco_layout_calibrates_on_its_train_split_and_a_plain_folder_on_itself(tmp_path):
    write_images(tmp_path / "coco" / "train", 3)
    write_images(tmp_path / "coco" / "val", 3)
    assert calibration_folder(tmp_path / "coco") == tmp_path / "coco" / "train"
    assert calibration_folder(tmp_path / "coco", split="val") == tmp_path / "coco" / "val"
    write_images(tmp_path / "plain", 2)
    assert calibration_folder(tmp_path / "plain") == tmp_path / "plain"


def test_selected_images_spread_over_the_sorted_folder(tmp_path):
    paths = write_images(tmp_path / "calib", 9)
    assert select_images(tmp_path / "calib", 3) == [paths[0], paths[4], paths[8]]
    assert select_images(tmp_path / "calib", 9) == paths


@pytest.mark.parametrize("make, count, message", [
    (lambda root: None, 4, "calibration folder .* does not exist"),
    (lambda root: (root / "train").mkdir(parents=True), 4, r"has no images \(.jpg"),
    (lambda root: write_images(root / "train", 3), 4, "has 3 images, fewer than the 4 asked for calibration"),
])
def test_bad_calibration_folders_are_one_line_errors(tmp_path, make, count, message):
    make(tmp_path / "coco")
    with pytest.raises(LSNetError, match=message) as error:
        select_images(calibration_folder(tmp_path / "coco"), count)
    assert "\n" not in str(error.value)
