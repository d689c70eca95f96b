"""Hand-made COCO datasets on disk for the data tests."""
import json

import cv2
import numpy as np
import pytest



def _write(root, split: str, sizes: list[tuple[int, int]], annotations: list[dict], categories: list[dict]):
    """Images of the given (w, h), random pixels (seeded), and `annotations/{split}.json`."""
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    images = []
    for i, (w, h) in enumerate(sizes, start=1):
        name = f"{i:03d}.png"  # lossless: tests compare pixels
        cv2.imwrite(str(root / split / name), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        images.append({"id": i, "file_name": name, "width": w, "height": h})
    for k, ann in enumerate(annotations, start=1):
        ann.setdefault("id", k)
        ann.setdefault("iscrowd", 0)
        ann.setdefault("category_id", categories[0]["id"])
        if "area" not in ann and "bbox" in ann:
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    dataset = {"images": images, "annotations": annotations, "categories": categories}
    (root / "annotations" / f"{split}.json").write_text(json.dumps(dataset))
    return root


@pytest.fixture
def make_coco(tmp_path):
    """make_coco(sizes, annotations, categories=None, split="val") → dataset folder (COCO layout)."""
    def make(sizes, annotations, categories=None, split="val"):
        categories = categories or [{"id": 1, "name": "thing"}]
        return _write(tmp_path / "ds", split, sizes, annotations, categories)
    return make
