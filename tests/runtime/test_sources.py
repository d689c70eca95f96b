"""Frame sources (image, folder, video, camera, stream) and their one-line errors."""
import cv2
import numpy as np
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime.sources import open_source


def _write_image(path, value=0, size=(30, 40)):
    cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))
    return path


def test_a_video_gives_every_frame_with_its_fps_and_size(synthetic_video):
    source = open_source(str(synthetic_video))
    frames = list(source)
    source.close()
    assert source.info.kind == "video" and source.info.frame_count == 12 and source.info.fps == 25
    assert source.info.size == (160, 120)
    assert [f.index for f in frames] == list(range(12)) and frames[3].name == "frame_000003.jpg"
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)


def test_a_folder_gives_its_images_in_name_order_and_skips_other_files(tmp_path):
    for name, value in (("b.png", 2), ("a.jpg", 1), ("c.bmp", 3)):
        _write_image(tmp_path / name, value * 50)
    (tmp_path / "notes.txt").write_text("not an image")
    source = open_source(str(tmp_path))
    assert source.info.kind == "folder" and source.info.frame_count == 3
    assert [f.name for f in source] == ["a.jpg", "b.png", "c.bmp"]


def test_one_image_is_a_one_frame_source(tmp_path):
    source = open_source(str(_write_image(tmp_path / "one.png", 7)))
    (frame,) = list(source)
    assert source.info.kind == "image" and source.info.name == "one" and source.info.size == (40, 30)
    assert frame.name == "one.png" and frame.image[0, 0, 0] == 7


def test_an_unreadable_image_in_a_folder_is_skipped_with_a_warning(tmp_path, capsys):
    _write_image(tmp_path / "a.png")
    (tmp_path / "b.jpg").write_text("a text file named .jpg")
    _write_image(tmp_path / "c.png")
    source = open_source(str(tmp_path))
    assert [frame.name for frame in source] == ["a.png", "c.png"]
    assert source.skipped == [tmp_path / "b.jpg"]
    assert capsys.readouterr().err == f"warning: skipped {tmp_path / 'b.jpg'}: not a readable image\n"


def _empty_video(path):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 64))
    writer.release()
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "x.jpg").write_text("text") and d / "x.jpg", r"x\.jpg is not a readable image"),
    (lambda d: (d / "x.mp4").write_text("text") and d / "x.mp4", r"cannot open video .*x\.mp4 \(empty, not a video"),
    (lambda d: _empty_video(d / "empty.mp4"), r"cannot open video .*empty\.mp4 \(empty"),
    (lambda d: (d / "sub").mkdir() or d / "sub", r"folder .*sub has no images"),
    (lambda d: d / "nothing.mp4", r"source .*nothing\.mp4 not found \(expected an image, a folder"),
    (lambda d: "99", r"cannot open camera 99 \(no such device"),
    (lambda d: "rtsp://127.0.0.1:9/none", r"cannot open stream rtsp://127\.0\.0\.1:9/none \(unreachable"),
])
def test_bad_sources_are_one_line_errors(tmp_path, capfd, make, message):
    with pytest.raises(LSNetError, match=message) as error:
        open_source(str(make(tmp_path)))
    assert "\n" not in str(error.value)
    assert capfd.readouterr().err == ""  # no OpenCV/FFmpeg chatter beside the one line
