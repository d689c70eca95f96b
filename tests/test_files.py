"""`lsnet.files`: atomic writes, output claims and their locks, numbered names."""
import multiprocessing
import os

import pytest

from lsnet.errors import LSNetError
from lsnet.files import atomic_write, claim_outputs, lock_path, numbered, partial_path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = atomic_write(tmp_path / "report.json", "old")

    class Boom(Exception):
        pass

    from lsnet.files import atomic_file

    with pytest.raises(Boom):
        with atomic_file(target) as f:
            f.write(b"half of the new")
            raise Boom
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]


def _hold_then_report(path, ready, release, result):
    try:
        with claim_outputs([path]):
            ready.set()
            release.wait(30)
        result.put("held")
    except LSNetError as e:
        result.put(str(e))


def _holder(out):
    """Another process holding the claim on `out`: (process, event that releases it, its report)."""
    context = multiprocessing.get_context("fork")
    ready, release, result = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=_hold_then_report, args=(out, ready, release, result))
    process.start()
    assert ready.wait(30)
    return process, release, result


def test_a_second_process_cannot_claim_an_output_until_the_first_is_done(tmp_path):
    out = tmp_path / "out.mp4"
    first, release, result = _holder(out)
    with pytest.raises(LSNetError, match="another process is writing"):
        with claim_outputs([out]):
            pass
    release.set()
    first.join(30)
    assert result.get(timeout=5) == "held"
    with claim_outputs([out]):  # free again
        pass
    assert not lock_path(out).exists()


def test_a_killed_holder_leaves_no_lock_that_blocks(tmp_path):
    out = tmp_path / "out.mp4"
    holder, _, _ = _holder(out)
    holder.kill()
    holder.join(30)
    assert lock_path(out).exists()  # the file stays; its flock went with the process
    with claim_outputs([out]):
        pass


def test_outputs_that_are_inputs_or_each_other_are_refused(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"video")
    (tmp_path / "link.mp4").symlink_to(source)
    for outputs, message in (([tmp_path / "link.mp4"], "would destroy the input"),
                             ([tmp_path / "sub" / ".." / "in.mp4"], "would destroy the input"),
                             ([tmp_path / "a.mp4", tmp_path / "a.mp4"], "named as two outputs")):
        with pytest.raises(LSNetError, match=message):
            with claim_outputs(outputs, inputs=[source]):
                pass
    assert source.read_bytes() == b"video"


def test_numbered_names_skip_what_exists_is_partial_or_is_being_written(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    partial_path(tmp_path / "clip2.mp4").write_bytes(b"")
    lock_path(tmp_path / "clip3.mp4").write_bytes(b"")
    (tmp_path / "photos").mkdir()
    assert numbered(tmp_path / "clip.mp4") == tmp_path / "clip4.mp4"
    assert numbered(tmp_path / "photos") == tmp_path / "photos2"
    assert numbered(tmp_path / "new.mp4") == tmp_path / "new.mp4"
