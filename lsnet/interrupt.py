"""Ctrl-C that finishes the current unit of work: the first SIGINT only sets a flag, which the
work checks at safe points (a video pipeline after each batch, training after each step); a
second SIGINT raises KeyboardInterrupt at once, as usual."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


@contextmanager
def stop_on_first_sigint(stop: threading.Event):
    """Within the block, the first Ctrl-C sets `stop`; the next one raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def first_interrupt(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_sigint(*_) -> None:
    """For worker processes (a DataLoader's `worker_init_fn`): Ctrl-C at the terminal reaches the
    whole process group, and the main process alone decides how to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
