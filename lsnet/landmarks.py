"""What the N landmarks of each task are: names, counts, flip pairs, skeleton (docs/lsnet-official.md §5).

Light on purpose (no numpy, no torch): the runtime draws with it on edge devices.
"""

TASKS = ("bbox", "segm", "pose")

# Landmarks per task, without the extra centre vector the head also predicts (docs/lsnet-official.md §12.1).
NUM_LANDMARKS = {"bbox": 4, "segm": 36, "pose": 17}

# Extreme points in the order of the head's vectors (docs/lsnet-official.md §2.3): top, left, bottom, right.
EXTREME_POINT_NAMES = ("top", "left", "bottom", "right")

COCO_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# Horizontal flip swaps (1,2), (3,4), …, (15,16) in COCO order (docs/lsnet-official.md §5.3).
COCO_KEYPOINT_FLIP_PAIRS = tuple((i, i + 1) for i in range(1, 17, 2))

# COCO person skeleton, 0-based (the 1-based list in person_keypoints json minus one).
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)


def keypoint_flip_permutation() -> list[int]:
    """Index map that a horizontal flip applies to the 17 COCO keypoints."""
    perm = list(range(17))
    for a, b in COCO_KEYPOINT_FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm
