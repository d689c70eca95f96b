"""Head outputs of random scenes for the decode tests (CPU twin and CUDA kernels): every location
regresses the landmarks of its nearest object, with class peaks around the centres, at the level
sizes of a given canvas."""
import numpy as np
import torch

from lsnet.model import vectors
from lsnet.model.decode import LevelOutputs

STRIDES = [8, 16, 32, 64, 128]
LEVEL_SIZES = [(32, 40), (16, 20), (8, 10), (4, 5), (2, 3)]  # a 256×320 canvas
CLASSES = 3


def canvas_of(level_sizes):
    """(H, W) of the network input whose first level (stride 8) has this size."""
    return level_sizes[0][0] * STRIDES[0], level_sizes[0][1] * STRIDES[0]


def random_scene(num_landmarks, g, objects, canvas=None, classes=CLASSES):
    """Objects as (class, landmarks [N+1, 2] with the centre last, side midpoints [5, 2]) in canvas pixels.
    Landmarks lie on an ellipse inside the box; with N = 4 they are the top, left, bottom, right extremes."""
    height, width = canvas or canvas_of(LEVEL_SIZES)
    scene = []
    for _ in range(objects):
        cx, cy = (torch.rand(2, generator=g) * torch.tensor([width, height])).tolist()
        half_w, half_h = (10 + torch.rand(2, generator=g) * 70).tolist()
        if num_landmarks == 4:
            angles = torch.tensor([-0.5, 1.0, 0.5, 0.0]) * torch.pi
        else:
            angles = torch.linspace(0, 2 * torch.pi, num_landmarks + 1)[:-1] + torch.rand(num_landmarks, generator=g)
        points = torch.stack((cx + half_w * angles.cos(), cy + half_h * angles.sin()), dim=-1)
        landmarks = torch.cat((points, torch.tensor([[cx, cy]])))
        sides = torch.tensor([[cx, cy - half_h], [cx - half_w, cy], [cx, cy + half_h], [cx + half_w, cy], [cx, cy]])
        scene.append((int(torch.randint(classes, (1,), generator=g)), landmarks, sides))
    return scene


def encode_map(points, anchors, stride, g):
    """Per location [h, w, V, 2] target points → [4·V, h, w] Softplus-like components (stride units), noisy."""
    offsets = (points - anchors[:, :, None, :]) / stride
    offsets = offsets + 0.15 * torch.randn(offsets.shape, generator=g)
    return vectors.encode(offsets).flatten(2).permute(2, 0, 1)


def realistic_levels(num_landmarks, with_box_vectors, batch=2, seed=0, background=-6.0, objects=10,
                     level_sizes=LEVEL_SIZES, classes=CLASSES):
    """Head outputs for random scenes: every location regresses the landmarks of its nearest object
    (with noise, so neighbouring detections overlap and NMS has work); class logits are background
    noise plus a peak of the object's class around its centre (probabilities stay below 1, so scores
    have no exact ties, whose order torch leaves open)."""
    g = torch.Generator().manual_seed(seed)
    scenes = [random_scene(num_landmarks, g, objects, canvas_of(level_sizes), classes) for _ in range(batch)]
    levels = []
    for (h, w), stride in zip(level_sizes, STRIDES):
        ys, xs = torch.meshgrid(torch.arange(h) * float(stride), torch.arange(w) * float(stride), indexing="ij")
        anchors = torch.stack((xs, ys), dim=-1)
        cls = torch.randn(batch, classes, h, w, generator=g) + background
        vector_maps, box_maps = [], []
        for b, scene in enumerate(scenes):
            centres = torch.stack([landmarks[-1] for _, landmarks, _ in scene])
            distance = (anchors[:, :, None, :] - centres).norm(dim=-1)  # [h, w, objects]
            nearest = distance.argmin(dim=-1)
            peaks = torch.zeros(classes, h, w)
            for label, landmarks, _ in scene:
                radius = (landmarks[:-1].amax(dim=0) - landmarks[:-1].amin(dim=0)).norm() / 4
                d = (anchors - landmarks[-1]).norm(dim=-1)
                peaks[label] = torch.maximum(peaks[label], 9 * torch.exp(-(d / radius) ** 2))
            cls[b] += peaks
            landmark_targets = torch.stack([landmarks for _, landmarks, _ in scene])[nearest]
            vector_maps.append(encode_map(landmark_targets, anchors, stride, g))
            box_maps.append(encode_map(torch.stack([sides for _, _, sides in scene])[nearest], anchors, stride, g))
        levels.append(LevelOutputs(cls, torch.stack(vector_maps), torch.stack(box_maps) if with_box_vectors else None))
    return levels


def plugin_inputs(levels, dtype=np.float32):
    """Arrays in the plugin's input order: per level cls_logits, vectors[, box_vectors]."""
    arrays = []
    for level in levels:
        arrays += [level.cls_logits.numpy(), level.landmark_vectors.numpy()]
        if level.box_vectors is not None:
            arrays.append(level.box_vectors.numpy())
    return [a.astype(dtype) for a in arrays]


