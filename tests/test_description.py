"""`lsnet.description`: which kind of input a model takes, and old files staying valid."""
import json

import pytest

from lsnet.description import FORMAT_VERSION, ModelDescription
from lsnet.errors import LSNetError

BASE = {"task": "bbox", "class_names": ["a"], "input_size": [64, 64]}


def test_a_description_written_before_input_kind_is_an_images_model():
    old = ModelDescription.from_json(json.dumps({**BASE, "format_version": 1}))
    assert old.input_kind == "images" and not old.takes_frames
    assert old.to_dict()["format_version"] == 1  # still readable by the readers of format 1


def test_a_frames_description_needs_a_reader_that_knows_frames():
    frames = ModelDescription(**BASE, input_kind="frames")
    assert frames.takes_frames and frames.format_version == 2 == FORMAT_VERSION
    assert ModelDescription.from_json(frames.to_json()) == frames


def test_an_unknown_input_kind_or_a_newer_format_is_refused():
    with pytest.raises(LSNetError, match=r"input_kind must be one of images, frames, got 'video'"):
        ModelDescription(**BASE, input_kind="video")
    with pytest.raises(LSNetError, match="has format 3, newer than this lsnet"):
        ModelDescription.from_json(json.dumps({**BASE, "format_version": 3}))
