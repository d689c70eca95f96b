"""Synthetic datasets (`lsnet.data.synth`): determinism, COCO structure, and the 36-point upper bound."""
import hashlib
import json

import cv2
import numpy as np
import pytest

from lsnet.data.coco import dataset_from_dir
from lsnet.data.synth import write_dataset
from lsnet.evaluation.coco_eval import evaluate
from lsnet.runtime.detections import Detections


def _json_hash(root, split="val") -> str:
    return hashlib.sha256((root / "annotations" / f"{split}.json").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def segm_val(tmp_path_factory):
    root = tmp_path_factory.mktemp("segm")
    write_dataset(root, "segm", seed=0, counts={"val": 60})
    return root


@pytest.fixture(scope="module")
def pose_val(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose")
    write_dataset(root, "pose", seed=0, counts={"val": 40})
    return root


@pytest.mark.parametrize("task", ["bbox", "segm", "pose"])
def test_same_seed_gives_identical_dataset_and_another_seed_a_different_one(tmp_path, task):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        write_dataset(tmp_path / name, task, seed=seed, counts={"train": 2, "val": 3})
    assert _json_hash(tmp_path / "a") == _json_hash(tmp_path / "b")
    assert _json_hash(tmp_path / "a", "train") == _json_hash(tmp_path / "b", "train")
    assert (tmp_path / "a/val/000002.jpg").read_bytes() == (tmp_path / "b/val/000002.jpg").read_bytes()
    assert _json_hash(tmp_path / "a") != _json_hash(tmp_path / "c")
    assert _json_hash(tmp_path / "a") != _json_hash(tmp_path / "a", "train")  # splits are different images


def test_shapes_dataset_is_coco_with_visible_polygons_and_a_few_crowds(segm_val):
    data = json.loads((segm_val / "annotations" / "val.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["ellipse", "triangle", "rectangle", "star", "cross"]
    sizes = {(im["width"], im["height"]) for im in data["images"]}
    assert all(160 <= w <= 224 and 160 <= h <= 224 for w, h in sizes) and len(sizes) > 30
    image = cv2.imread(str(segm_val / "val" / data["images"][0]["file_name"]))
    assert image.shape == (data["images"][0]["height"], data["images"][0]["width"], 3)
    crowds = [a for a in data["annotations"] if a["iscrowd"]]
    assert 1 <= len(crowds) <= 10 and all(isinstance(a["segmentation"], dict) for a in crowds)
    per_image = np.bincount([a["image_id"] for a in data["annotations"] if not a["iscrowd"]])
    assert per_image.max() <= 6 and len(data["annotations"]) > 3 * len(data["images"])
    for ann in data["annotations"]:
        if ann["iscrowd"]:
            continue
        xy = np.concatenate([np.reshape(p, (-1, 2)) for p in ann["segmentation"]])
        x, y, w, h = ann["bbox"]
        np.testing.assert_allclose([x, y, x + w, y + h], [*xy.min(0), *xy.max(0)])  # box = polygon extent
        assert ann["area"] >= 24 and w >= 1 and h >= 1
    assert any(len(a["segmentation"]) > 1 for a in data["annotations"] if not a["iscrowd"])  # occlusion splits


def test_pose_dataset_labels_keypoints_as_coco_does(pose_val):
    data = json.loads((pose_val / "annotations" / "val.json").read_text())
    (person,) = data["categories"]
    assert person["name"] == "person" and len(person["keypoints"]) == 17
    assert len(person["skeleton"]) == 19 and min(map(min, person["skeleton"])) == 1
    sizes = {im["id"]: (im["width"], im["height"]) for im in data["images"]}
    v_counts = np.zeros(3, int)
    for ann in data["annotations"]:
        kp = np.reshape(ann["keypoints"], (17, 3))
        assert ann["num_keypoints"] == int((kp[:, 2] > 0).sum())
        w, h = sizes[ann["image_id"]]
        labelled = kp[:, 2] > 0
        assert np.all(kp[~labelled] == 0)  # outside the image: (0, 0, 0)
        assert np.all((kp[labelled, :2] >= 0) & (kp[labelled, :2] <= (w, h)))
        v_counts += np.bincount(kp[:, 2].astype(int), minlength=3)
        if not ann["iscrowd"]:
            x, y, bw, bh = ann["bbox"]
            assert 0 <= x and x + bw <= w and 0 <= y and y + bh <= h and ann["area"] > 0
    assert v_counts.min() > 10  # unlabelled (outside), occluded (v = 1) and visible (v = 2) all occur


def test_36_point_contour_targets_reach_mask_ap_over_095(segm_val):
    """The paper's §4.4 upper bound: contour targets rasterised back vs the true masks."""
    ds = dataset_from_dir(segm_val, "val", "segm", (320, 320), train=False)
    results = {}
    for i in range(len(ds)):
        _, target = ds[i]
        s = target["scale"]
        k = len(target["labels"])
        results[target["image_id"]] = Detections(target["boxes"].numpy() / s, np.ones(k, np.float32),
                                                 target["labels"].numpy(), target["landmarks"].numpy() / s,
                                                 ds.class_names)
    assert evaluate(ds.coco, results, "segm")["segm"]["AP"] >= 0.95
