"""Writing files so that nothing a user made is lost (README "Guarantees").

- `atomic_write` / `atomic_file`: every file a command writes goes to a hidden temporary name in
  the same folder, is flushed to disk (fsync) and renamed over the final name only when
  complete; on any failure the temporary file is removed and the final name is untouched.
- `claim_outputs`: before a command does any work, it refuses an output that is one of its
  inputs (or another of its outputs), and takes an exclusive lock next to each output, so that
  a second process writing the same output is refused instead of interleaving. The lock is an
  `flock`: the kernel drops it when its process ends, however it ends, so a lock is never stale.
- `write_error`: an `OSError` while writing (read-only folder, full disk) as one line.
- `partial_path`, `numbered`: the visible names of kept partial outputs and of new default outputs.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from lsnet.errors import LSNetError

try:  # POSIX; elsewhere outputs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None


def write_error(path: str | Path, error: OSError) -> LSNetError:
    """'cannot write PATH: No space left on device' — the reason without errno numbers."""
    reason = error.strerror or str(error) or type(error).__name__
    return LSNetError(f"cannot write {path}: {reason}")


def free_space(folder: str | Path) -> str:
    """The space left on the disk of `folder`, for messages: "0 B", "12.5 MB"."""
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space"
    for unit in ("B", "kB", "MB", "GB"):
        if free < 1000:
            return f"{free:.3g} {unit}"
        free /= 1000
    return f"{free:.3g} TB"


def make_folder(folder: str | Path) -> Path:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise LSNetError(f"cannot write into {folder}: it is a file, not a folder") from None
    except OSError as e:
        raise write_error(folder, e) from None
    return folder


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb", durable: bool = True) -> Iterator:
    """An open file to write `path` through: renamed to `path` when the block ends without an
    error; removed (and `path` untouched) when it raises. OSError → `write_error`. `durable`:
    flushed to the disk (fsync) before the rename, so that a power cut leaves the old file or the
    new one; off for many small outputs that a rerun makes again (frames, synthetic images)."""
    path = Path(path)
    make_folder(path.parent)
    tmp = _temporary_name(path)
    try:
        try:
            with open(tmp, mode) as f:
                yield f
                f.flush()
                if durable:
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            raise write_error(path, e) from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, data: bytes | str, durable: bool = True) -> Path:
    """Writes `data` (bytes, or text as UTF-8) to `path` atomically; returns `path`."""
    with atomic_file(path, "wb", durable) as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def write_json(path: str | Path, data) -> Path:
    """A JSON report (indented, one trailing newline), written atomically."""
    return atomic_write(path, json.dumps(data, indent=2) + "\n")


def atomic_copy(source: str | Path, target: str | Path) -> Path:
    """A copy of `source` at `target`, written atomically (a large file is streamed, not held in memory)."""
    with open(source, "rb") as src, atomic_file(target) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return Path(target)


def append_line(path: str | Path, line: str) -> None:
    """One line appended (a log); a write error as one line."""
    try:
        with open(path, "a") as f:
            f.write(line.rstrip("\n") + "\n")
    except OSError as e:
        raise write_error(path, e) from None


def partial_path(path: str | Path) -> Path:
    """Where an incomplete output is kept: `out.mp4` → `out.partial.mp4` (visible, never a final name)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def lock_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def numbered(path: str | Path) -> Path:
    """`path` if nothing is there yet, else the first free `NAME2`, `NAME3`, … (keeping the suffix)."""
    path = Path(path)

    def taken(candidate: Path) -> bool:
        return any(p.exists() for p in (candidate, partial_path(candidate), lock_path(candidate)))

    if not taken(path):
        return path
    stem = path.stem if path.suffix else path.name
    n = 2
    while taken(candidate := path.with_name(f"{stem}{n}{path.suffix}")):
        n += 1
    return candidate


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same resolved path (symlinks, `..`), or hard links."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `.NAME.lock` beside `path` while the block runs; the lock file is
    removed at the end (while still held, so the next process never locks a removed file)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock = lock_path(path)
    make_folder(lock.parent)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise write_error(path, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LSNetError(f"another process is writing {path} (it holds {lock.name}); wait for it to finish "
                                 "or choose another output") from None
            raise write_error(path, e) from None
        try:  # the holder before us may have removed the file between our open and our lock
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        finally:
            os.close(fd)


@contextmanager
def claim_outputs(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None] = ()) -> Iterator[None]:
    """Refuses outputs that would overwrite an input file or folder (or each other), then holds
    a lock on each output for the duration of the block (module docstring). `None`s are skipped."""
    outputs = [Path(p) for p in outputs if p is not None]
    inputs = [Path(p) for p in inputs if p is not None]
    for i, out in enumerate(outputs):
        for source in inputs:
            if same_file(out, source):
                raise LSNetError(f"the output {out} is the input {source}; writing it would destroy the input: "
                                 "choose another output")
        for other in outputs[:i]:
            if same_file(out, other):
                raise LSNetError(f"{out} is named as two outputs; give each output its own name")
    with ExitStack() as stack:
        for out in outputs:
            stack.enter_context(_locked(out))
        yield
