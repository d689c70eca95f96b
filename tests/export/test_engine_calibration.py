"""`lsnet.export.calibration`: INT8 calibration batches are THE pre-processing of the runtime."""
import cv2
import numpy as np
import pytest

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError
from lsnet.export.calibration import calibration_batches, calibration_images
from lsnet.runtime.preprocess import preprocess

DESCRIPTION = ModelDescription(task="bbox", class_names=["a"], input_size=(64, 96))


def write_images(folder, count: int) -> list:
    folder.mkdir(exist_ok=True)
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


@pytest.mark.parametrize("count, message", [(None, "does not exist"), (1, "has 1 images, fewer than one calibration batch of 4")])
def test_too_few_calibration_images_are_refused(tmp_path, count, message):
    if count is not None:
        write_images(tmp_path / "calib", count)
    with pytest.raises(LSNetError, match=message):
        calibration_images(tmp_path / "calib", batch=4)
