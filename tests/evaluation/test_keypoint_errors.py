"""scripts/keypoint_errors.py: its per-keypoint similarities average to pycocotools' OKS."""
import importlib.util
import io
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
from pycocotools.cocoeval import COCOeval
from test_coco_eval import _coco

from lsnet.evaluation.coco_eval import format_results
from lsnet.landmarks import COCO_KEYPOINT_NAMES
from lsnet.runtime.detections import Detections

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "keypoint_errors.py"


def _script():
    spec = importlib.util.spec_from_file_location("keypoint_errors", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mean_similarity_of_the_best_detection_is_pycocotools_oks():
    rng = np.random.default_rng(0)
    truth = rng.uniform(40, 100, (17, 2))
    visibility = np.where(np.arange(17) % 5 == 4, 0, 2)  # a few unlabelled keypoints
    person = {"image_id": 1, "category_id": 1, "bbox": [30, 30, 80, 80], "area": 2500.0,
              "keypoints": np.concatenate([truth, visibility[:, None]], 1).ravel().tolist(),
              "num_keypoints": int((visibility > 0).sum())}
    coco = _coco([person])
    near, far = truth + rng.normal(0, 2, (17, 2)), truth + rng.normal(0, 12, (17, 2))
    detections = Detections(np.array([[30, 30, 110, 110]] * 2, np.float32), np.array([0.9, 0.8], np.float32),
                            np.zeros(2, np.int64), np.stack([far, near]).astype(np.float32),
                            ["person"])

    similarity = _script().keypoint_similarities(coco.loadAnns(coco.getAnnIds()), detections)

    with redirect_stdout(io.StringIO()):
        results = coco.loadRes(format_results(coco, {1: detections}, "pose")["keypoints"])
    evaluator = COCOeval(coco, results, "keypoints")
    evaluator.params.imgIds = [1]
    with redirect_stdout(io.StringIO()):
        evaluator.evaluate()
    oks = np.asarray(evaluator.ious[(1, 1)])  # [detections by score, persons]
    assert similarity.shape == (1, len(COCO_KEYPOINT_NAMES))
    assert np.isnan(similarity[0, visibility == 0]).all()
    np.testing.assert_allclose(np.nanmean(similarity[0]), oks.max(), rtol=1e-5)
    assert oks.argmax() == 1  # the near detection, picked by the script too
