#!/usr/bin/env python
"""Which keypoints a pose model gets wrong: per-keypoint OKS similarity on a COCO-format split.

For every person with labelled keypoints, the detection of highest OKS is taken and each labelled
keypoint's similarity exp(−d² / (2·area·(2σ)²)) is recorded (pycocotools' formula and σ). The
table shows the mean similarity, the median error in units of √area, and the error that a
similarity of 0.75 (the AP75 threshold, one keypoint alone) allows.

    python scripts/keypoint_errors.py models/lsnet_pose_r10_synth.pt --data data/shapes_pose
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from pycocotools.cocoeval import Params

from lsnet.data.annotations import load_coco
from lsnet.errors import LSNetError
from lsnet.evaluation.predict import predict_coco
from lsnet.landmarks import COCO_KEYPOINT_NAMES
from lsnet.runtime import load

OKS_SIGMAS = Params(iouType="keypoints").kpt_oks_sigmas  # COCO's per-keypoint σ, in COCO order


def keypoint_similarities(gt: list[dict], detections) -> np.ndarray:
    """[persons, 17] similarity of each labelled keypoint to the best-OKS detection (NaN: unlabelled)."""
    variances = (2 * OKS_SIGMAS) ** 2
    rows = []
    for person in gt:
        keypoints = np.asarray(person["keypoints"], np.float64).reshape(17, 3)
        labelled = keypoints[:, 2] > 0
        if not labelled.any() or person.get("iscrowd", 0):
            continue
        row = np.full(17, np.nan)
        if len(detections):
            d2 = ((detections.landmarks - keypoints[None, :, :2]) ** 2).sum(-1)  # [D, 17]
            similarity = np.exp(-d2 / (2 * person["area"] * variances + np.spacing(1)))
            best = (similarity * labelled).sum(1).argmax()
            row[labelled] = similarity[best, labelled]
        else:
            row[labelled] = 0.0
        rows.append(row)
    return np.array(rows).reshape(-1, 17)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a pose model: .pt, .onnx (or .engine on a GPU machine)")
    parser.add_argument("--data", required=True, help="COCO-layout folder (annotations/SPLIT.json, SPLIT/)")
    parser.add_argument("--split", default="val")
    args = parser.parse_args(argv)
    try:
        detector = load(args.model)
        if detector.description.task != "pose":
            raise LSNetError(f"{args.model} is a {detector.description.task} model, not a pose model")
        coco = load_coco(Path(args.data) / "annotations" / f"{args.split}.json")
        results = predict_coco(detector, coco, Path(args.data) / args.split)
    except LSNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    similarity = np.concatenate([keypoint_similarities(coco.loadAnns(coco.getAnnIds(imgIds=i)), det)
                                 for i, det in results.items()])
    error = np.sqrt(-2 * np.log(np.clip(similarity, 1e-12, 1)))  # d / (√area · 2σ)
    allowed = np.sqrt(-2 * np.log(0.75)) * 2 * OKS_SIGMAS
    print(f"{len(similarity)} persons of {args.split}; per keypoint, over the persons where it is labelled:")
    print(f"{'keypoint':<15} {'similarity':>10} {'median error / √area':>21} {'allowed at 0.75':>16}")
    for k, name in enumerate(COCO_KEYPOINT_NAMES):
        print(f"{name:<15} {np.nanmean(similarity[:, k]):>10.3f} "
              f"{np.nanmedian(error[:, k]) * 2 * OKS_SIGMAS[k]:>21.3f} {allowed[k]:>16.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
