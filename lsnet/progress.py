"""Progress of long work on stderr: a tqdm bar on a terminal, plain periodic lines elsewhere.

A bar redraws itself with carriage returns, which a log file, a CI console or a pipe shows as one
endless line (or thousands); there the same progress is one ordinary line every
`LINE_INTERVAL` seconds. `Steps` announces the steps of work that has no count to show (an
export), with the time so far, and says that a long step is still running.
"""
from __future__ import annotations

import sys
import threading
import time

from tqdm import tqdm

LINE_INTERVAL = 10.0  # seconds between progress lines when stderr is not a terminal
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"  # tqdm's fields


def on_terminal() -> bool:
    return sys.stderr.isatty()


class LineProgress:
    """The part of tqdm's interface the commands use (iterate, `update`, `set_postfix`, `close`),
    written as one plain line at most every `mininterval` seconds and once at the end; the line is
    tqdm's own `format_meter`."""

    def __init__(self, iterable=None, total: int | None = None, initial: int = 0, desc: str = "", unit: str = "it",
                 disable: bool = False, mininterval: float = LINE_INTERVAL, leave: bool = True, **_):
        self.iterable, self.desc, self.unit, self.disable = iterable, desc, unit, disable
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.n = self.initial = self.printed = initial
        self.interval, self.postfix = mininterval, ""
        self.start = self.last = time.perf_counter()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.perf_counter() - self.last >= self.interval:
            self._line()

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if self.n != self.printed:
            self._line()

    def _line(self) -> None:
        self.last, self.printed = time.perf_counter(), self.n
        if not self.disable:
            print(tqdm.format_meter(self.n, self.total, self.last - self.start, prefix=self.desc, unit=self.unit,
                                    postfix=self.postfix or None, bar_format=LINE_FORMAT, initial=self.initial),
                  file=sys.stderr, flush=True)


def progress(iterable=None, **options):
    """`tqdm(iterable, **options)` on a terminal, `LineProgress` elsewhere."""
    return tqdm(iterable, **options) if on_terminal() else LineProgress(iterable, **options)


class Steps:
    """`steps("tracing the network")` prints "TASK: tracing the network (12 s)" on stderr — the
    time since the task began — and, while a step lasts, "TASK: still tracing the network (42 s)"
    every `interval` seconds. Use as a context manager; `enabled=False` prints nothing."""

    def __init__(self, task: str, interval: float = 15.0, enabled: bool = True):
        self.task, self.interval, self.enabled = task, interval, enabled
        self.start = self.last_line = time.perf_counter()
        self.current = ""
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.watcher = threading.Thread(target=self._remind, name="lsnet-steps", daemon=True)

    def __enter__(self) -> "Steps":
        if self.enabled:
            self.watcher.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()

    def __call__(self, step: str) -> None:
        with self.lock:
            self.current = step
            self._print(step)

    def _print(self, text: str) -> None:
        self.last_line = time.perf_counter()
        if self.enabled:
            print(f"{self.task}: {text} ({self.last_line - self.start:.0f} s)", file=sys.stderr, flush=True)

    def _remind(self) -> None:
        while not self.done.wait(min(self.interval, 1.0)):
            with self.lock:
                if self.current and time.perf_counter() - self.last_line >= self.interval:
                    self._print(f"still {self.current}")
