"""`CocoDetectionDataset`: the item contract (docs/architecture.md §7), filtering and counting (docs/lsnet-official.md §5)."""
import json

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from lsnet.data.coco import CocoDetectionDataset, dataset_from_dir
from lsnet.data.targets import extreme_points
from lsnet.errors import LSNetError
from lsnet.landmarks import COCO_KEYPOINT_NAMES

PERSON = [{"id": 1, "name": "person", "keypoints": list(COCO_KEYPOINT_NAMES), "skeleton": []}]
SQUARE = [[10.0, 20.0, 30.0, 20.0, 30.0, 40.0, 10.0, 40.0]]  # bbox 10, 20, 20, 20


def _ds(root, task, train=False, input_size=(64, 64), **kwargs):
    return dataset_from_dir(root, "val", task, input_size, train=train, **kwargs)


def test_item_is_a_normalised_rgb_image_and_targets_in_resized_pixels(make_coco):
    root = make_coco([(128, 64)], [{"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}])
    cv2.imwrite(str(root / "val" / "001.png"), np.full((64, 128, 3), (255, 0, 0), np.uint8))  # blue, BGR
    ds = _ds(root, "bbox", input_size=(64, 64))  # 64×128 (h×w) fits at scale 0.5
    image, target = ds[0]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 64)
    rgb = [(0 - 123.675) / 58.395, (0 - 116.28) / 57.12, (255 - 103.53) / 57.375]
    torch.testing.assert_close(image.mean((1, 2)), torch.tensor(rgb))
    assert target["scale"] == 0.5 and target["orig_size"] == (64, 128) and target["flipped"] is False
    np.testing.assert_allclose(target["boxes"], [[5, 10, 15, 20]])
    np.testing.assert_allclose(target["landmarks"][0], extreme_points(np.reshape(SQUARE, (-1, 2))) * 0.5)
    assert target["labels"].dtype == torch.int64 and target["landmarks"].dtype == torch.float32
    assert target["visible"].tolist() == [[1, 1, 1, 1]]
    assert target["image_id"] == 1 and ds.class_names == ["thing"]


def test_labels_are_contiguous_indices_of_categories_sorted_by_id(make_coco):
    cats = [{"id": 9, "name": "nine"}, {"id": 2, "name": "two"}]
    root = make_coco([(64, 64)], [{"image_id": 1, "category_id": 9, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}],
                     categories=cats)
    ds = _ds(root, "bbox")
    assert ds.class_names == ["two", "nine"]
    assert ds[0][1]["labels"].tolist() == [1]


def test_crowd_annotations_are_excluded_and_counted(make_coco):
    rle = {"size": [64, 64], "counts": [100, 20, 3976]}
    root = make_coco([(64, 64)], [{"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": SQUARE},
                                  {"image_id": 1, "bbox": [1, 36, 1, 20], "segmentation": rle, "iscrowd": 1}])
    for task in ("bbox", "segm"):
        ds = _ds(root, task)
        assert len(ds[0][1]["boxes"]) == 1
        assert ds.skipped["crowd (iscrowd=1)"] == 1


def test_non_crowd_rle_masks_give_extreme_points_and_contours(make_coco):
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 10:30] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode()
    root = make_coco([(64, 64)], [{"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": rle}])
    bbox = _ds(root, "bbox")[0][1]["landmarks"][0]
    assert bbox[0].tolist() == [19, 20] and bbox[2][1] == 39  # pixel coordinates of the foreground
    ds = _ds(root, "segm")
    np.testing.assert_allclose(ds[0][1]["boxes"][0], [10.25, 20.25, 29.75, 39.75])  # traced between pixel centres
    assert ds.adjusted["RLE segmentation traced to polygons"] == 1


def test_images_without_objects_are_kept_in_eval_and_dropped_in_training(make_coco):
    root = make_coco([(64, 64), (64, 64)], [{"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}])
    assert len(_ds(root, "bbox")) == 2
    empty = _ds(root, "bbox")[1][1]
    assert empty["boxes"].shape == (0, 4) and empty["landmarks"].shape == (0, 4, 2)
    train = _ds(root, "bbox", train=True)
    assert len(train) == 1 and train.skipped["image without usable objects (train)"] == 1
    assert len(_ds(root, "bbox", train=True, skip_empty=False)) == 2


def test_degenerate_annotations_are_skipped_and_counted_by_reason(make_coco):
    anns = [
        {"image_id": 1, "bbox": [10, 20, 0.5, 20], "segmentation": SQUARE},
        {"image_id": 1, "bbox": [10, 20, 20, 20], "area": 0, "segmentation": SQUARE},
        {"image_id": 1, "bbox": [100, 20, 20, 20], "segmentation": SQUARE},
        {"image_id": 1, "bbox": [10, 20, 20, 20], "category_id": 5, "segmentation": SQUARE},
        {"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": [[10, 20, 30, 40]]},  # 2 points
        {"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": [[10, 20, 20, 30, 30, 40]]},  # zero area
        {"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": SQUARE},
    ]
    ds = _ds(make_coco([(64, 64)], anns), "segm")
    assert ds.skipped == {"bbox w or h < 1": 1, "zero area": 1, "bbox outside the image": 1, "unknown category": 1,
                          "polygon part < 3 points (dropped)": 1,
                          "polygon part tiny: w or h < 1 or area <= 5 (dropped)": 1}
    assert ds.adjusted == {"no polygon part survives: gt box used as contour": 2}
    boxes = ds[0][1]["boxes"]
    assert len(boxes) == 3
    np.testing.assert_allclose(boxes, [[10, 20, 30, 40]] * 3)  # box fallbacks span the gt box


def test_persons_without_labelled_keypoints_are_kept_and_outside_keypoints_clipped(make_coco):
    kps = [0.0] * 51
    kps[0:3] = [70.0, 10.0, 2]  # nose beyond the right edge (w = 64)
    kps[15:18] = [30.0, 30.0, 1]  # left shoulder, labelled but not visible
    anns = [{"image_id": 1, "bbox": [10, 5, 40, 50], "keypoints": kps, "num_keypoints": 2},
            {"image_id": 1, "bbox": [20, 5, 20, 30], "keypoints": [0] * 51, "num_keypoints": 0},
            {"image_id": 1, "bbox": [20, 5, 20, 30]}]
    ds = _ds(make_coco([(64, 64)], anns, categories=PERSON), "pose")
    target = ds[0][1]
    assert len(target["boxes"]) == 2
    assert target["visible"][0, [0, 5]].tolist() == [1, 1] and target["visible"][0].sum() == 2
    assert target["visible"][1].sum() == 0
    assert target["landmarks"][0, 0].tolist() == [64, 10]  # clipped to the image (§5.3)
    assert target["landmarks"][0, 1].tolist() == [0, 0]  # unlabelled stays (0, 0)
    assert ds.adjusted == {"labelled keypoint outside the image (clipped, docs/lsnet-official.md §5.3)": 1,
                           "person without labelled keypoints (kept, docs/lsnet-official.md §5.3)": 1}
    assert ds.skipped == {"no 17 keypoints": 1}


def test_segm_boxes_are_the_extent_of_the_largest_part(make_coco):
    two_parts = [[2, 2, 40, 2, 40, 30, 2, 30], [50, 50, 60, 50, 60, 60, 50, 60]]
    root = make_coco([(64, 64)], [{"image_id": 1, "bbox": [2, 2, 58, 58], "segmentation": two_parts}])
    target = _ds(root, "segm")[0][1]
    assert target["landmarks"].shape == (1, 36, 2)
    np.testing.assert_allclose(target["boxes"][0], [2, 2, 40, 30])


def test_flip_mirrors_image_boxes_and_swaps_landmarks(make_coco):
    kite = [[20.0, 10.0, 8.0, 30.0, 24.0, 50.0, 40.0, 26.0]]  # top, left, bottom, right vertices
    root = make_coco([(64, 64)], [{"image_id": 1, "bbox": [8, 10, 32, 40], "segmentation": kite}])
    plain = _ds(root, "bbox", train=True, flip_prob=0.0)[0]
    image, target = _ds(root, "bbox", train=True, flip_prob=1.0)[0]
    assert target["flipped"] is True
    torch.testing.assert_close(image, plain[0].flip(-1))
    np.testing.assert_allclose(target["boxes"], [[64 - 40, 10, 64 - 8, 50]])
    # top (20,10) → (44,10); left ← the right (40,26) mirrored → (24,26); bottom (24,50) → (40,50);
    # right ← the left (8,30) mirrored → (56,30)
    np.testing.assert_allclose(target["landmarks"][0], [[44, 10], [24, 26], [40, 50], [56, 30]])


def test_bbox_centre_target_of_a_box_half_outside_the_image_is_the_annotation_centre_clipped(make_coco):
    # a 128×64 image, an annotation box x −40 … 40 (half outside), y 10 … 40, at scale 0.5:
    # official centre = clip(0.5 · (0, 25)) = (0, 12.5); the clipped box (0 … 20) would give (10, 12.5)
    half_out = [[-40.0, 10.0, 40.0, 10.0, 40.0, 40.0, -40.0, 40.0]]
    root = make_coco([(128, 64)], [{"image_id": 1, "bbox": [-40, 10, 80, 30], "segmentation": half_out},
                                   {"image_id": 1, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}])
    target = _ds(root, "bbox", input_size=(32, 64))[0][1]
    np.testing.assert_allclose(target["boxes"], [[0, 5, 20, 20], [5, 10, 15, 20]])
    np.testing.assert_allclose(target["centres"], [[0, 12.5], [10, 15]])
    flipped = _ds(root, "bbox", train=True, flip_prob=1.0, input_size=(32, 64))[0][1]
    np.testing.assert_allclose(flipped["centres"], [[64, 12.5], [54, 15]])


def test_flips_depend_only_on_seed_epoch_and_index(make_coco):
    root = make_coco([(64, 64)] * 32, [{"image_id": i, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}
                                       for i in range(1, 33)])
    a, b = _ds(root, "bbox", train=True, seed=3), _ds(root, "bbox", train=True, seed=3)
    np.random.seed(1)  # the global RNG plays no part
    first = [a.flips(i) for i in range(32)]
    np.random.seed(2)
    assert [b.flips(i) for i in range(32)] == first
    assert 4 < sum(first) < 28
    assert [a[i][1]["flipped"] for i in (0, 5, 9)] == [first[0], first[5], first[9]]
    a.set_epoch(1)
    assert [a.flips(i) for i in range(32)] != first
    b.set_epoch(1)
    assert [a.flips(i) for i in range(32)] == [b.flips(i) for i in range(32)]
    assert [_ds(root, "bbox", train=True, seed=4).flips(i) for i in range(32)] != first
    assert not any(_ds(root, "bbox", train=False, flip_prob=1.0).flips(i) for i in range(32))


def test_multi_scale_training_resizes_each_item_into_a_scaled_canvas_with_its_targets(make_coco):
    root = make_coco([(64, 64)] * 32, [{"image_id": i, "bbox": [10, 20, 20, 20], "segmentation": SQUARE}
                                       for i in range(1, 33)])
    ds = _ds(root, "bbox", train=True, flip_prob=0.0, scale_range=(0.5, 1.0), input_size=(64, 64))
    sizes = [ds.target_size(i) for i in range(32)]
    assert all(32 <= h == w <= 64 for h, w in sizes) and len(set(sizes)) > 5  # spread over the range
    assert sizes == [_ds(root, "bbox", train=True, scale_range=(0.5, 1.0)).target_size(i) for i in range(32)]
    image, target = ds[3]
    s = sizes[3][0] / 64  # the 64×64 image fills the scaled canvas
    assert image.shape == (3, *sizes[3]) and target["scale"] == pytest.approx(s)
    np.testing.assert_allclose(target["boxes"], [[10 * s, 20 * s, 30 * s, 40 * s]], rtol=1e-6)
    ds.set_epoch(1)
    assert [ds.target_size(i) for i in range(32)] != sizes
    assert _ds(root, "bbox", train=False, scale_range=(0.5, 1.0)).target_size(3) == (64, 64)  # val: one size
    with pytest.raises(LSNetError, match="scale_range must be"):
        _ds(root, "bbox", train=True, scale_range=(1.0, 0.5))


def test_missing_or_corrupt_inputs_are_one_line_errors(make_coco, tmp_path):
    root = make_coco([(64, 64)], [])
    with pytest.raises(LSNetError, match="has no annotations/train.json"):
        dataset_from_dir(root, "train", "bbox", (64, 64), train=True)
    with pytest.raises(LSNetError, match="does not exist"):
        dataset_from_dir(tmp_path / "nowhere", "val", "bbox", (64, 64), train=False)
    with pytest.raises(LSNetError, match="unknown task"):
        _ds(root, "keypoints")
    (root / "annotations" / "val.json").write_text("{not json")
    with pytest.raises(LSNetError, match="not valid JSON"):
        _ds(root, "bbox")
    (root / "annotations" / "val.json").write_text(json.dumps({"annotations": []}))
    with pytest.raises(LSNetError, match="not COCO format"):
        _ds(root, "bbox")
    with pytest.raises(LSNetError, match="image folder"):
        CocoDetectionDataset(root / "annotations" / "val.json", tmp_path / "no_images", "bbox", (64, 64), False)


def test_unreadable_image_is_a_one_line_error(make_coco):
    root = make_coco([(64, 64)], [])
    (root / "val" / "001.png").write_bytes(b"not an image")
    with pytest.raises(LSNetError, match="cannot read image"):
        _ds(root, "bbox")[0]
