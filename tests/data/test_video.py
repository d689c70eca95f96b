"""`lsnet data video`: objects as large as the dataset's at the model's scale, and ground truth per frame."""
import json

import numpy as np

from lsnet.data.annotations import load_coco
from lsnet.data.synth import DEFAULT_SIZE_RANGE, scene
from lsnet.data.video import video_frames, write_video
from lsnet.runtime.sources import open_source

MODEL_SIDE = 192  # the committed models' canvas: what a frame is scaled to


def _sides_at_model_scale(items) -> np.ndarray:
    """The longer box side of every object, in the pixels of a 192×192 model canvas."""
    sides = []
    for image, annotations in items:
        scale = MODEL_SIDE / max(image.shape[:2])
        sides += [max(a["bbox"][2:]) * scale for a in annotations if not a["iscrowd"]]
    return np.array(sides)


def test_shapes_are_as_large_as_the_datasets_at_the_models_scale():
    """A model trained on `lsnet data synth` misses shapes smaller than it saw: the video's sizes,
    after the letterbox into the model's canvas, follow the dataset's (the demo's 320×256 frames too)."""
    data = _sides_at_model_scale(scene("bbox", 0, "val", i, DEFAULT_SIZE_RANGE, 6) for i in range(60))
    for size in ((320, 256), (640, 480)):
        video = _sides_at_model_scale(frame for seed in range(3)
                                      for t, frame in enumerate(video_frames("bbox", 40, size, seed)) if t % 8 == 0)
        assert np.percentile(video, 5) >= 0.8 * np.percentile(data, 5), size
        assert 0.75 <= np.median(video) / np.median(data) <= 1.5, size


def test_ground_truth_names_every_frame_as_infer_does_and_follows_the_objects(tmp_path):
    video, truth = tmp_path / "v.mp4", tmp_path / "v.json"
    write_video(video, "bbox", frames=6, size=(160, 120), seed=1, annotations=truth)
    coco = load_coco(truth)
    names = [frame.name for frame in open_source(str(video))]
    assert [image["file_name"] for image in coco.dataset["images"]] == names  # frame_000000.jpg, …
    assert json.loads(truth.read_text())["categories"][0]["name"] == "ellipse"
    anns = coco.dataset["annotations"]
    assert len({a["id"] for a in anns}) == len(anns)
    expected = [a for _, frame_anns in video_frames("bbox", 6, (160, 120), 1) for a in frame_anns]
    assert [(a["category_id"], a["bbox"]) for a in anns] == [(a["category_id"], a["bbox"]) for a in expected]
    tracks = {}
    for a in anns:  # a track keeps its class and moves a few pixels per frame
        tracks.setdefault(a["track_id"], []).append(a)
    assert len(tracks) >= 4
    for track in tracks.values():
        assert len({a["category_id"] for a in track}) == 1
        centres = np.array([[a["bbox"][0] + a["bbox"][2] / 2, a["bbox"][1] + a["bbox"][3] / 2] for a in track])
        assert np.abs(np.diff(centres, axis=0)).max() < 12



def test_annotations_give_the_size_of_the_frames_as_read_back_also_for_odd_sizes(tmp_path):
    video, ann = tmp_path / "odd.mp4", tmp_path / "odd.json"
    write_video(video, "bbox", 2, size=(97, 65), annotations=ann)
    source = open_source(str(video))
    try:
        read_back = [frame.image.shape[:2] for frame in source]
    finally:
        source.close()
    recorded = [(image["height"], image["width"]) for image in json.loads(ann.read_text())["images"]]
    assert recorded == read_back and len(read_back) == 2
