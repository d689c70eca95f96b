"""The one exception type users see: the CLI prints it as a single `error: …` line and exits 2;
and the one way a command warns (`warning: …` on stderr) when it goes on."""
from __future__ import annotations

import sys


class LSNetError(Exception):
    """Bad input from the user (file, config, data, environment), explained in one line."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none): what a one-line
    error quotes of a library's multi-line message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
