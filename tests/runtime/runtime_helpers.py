"""Helpers shared by the runtime tests (imported by name: the test folders have no packages). The small
model's constants live in tests/small_model.py, shared with the other test folders; they are named
here too for the runtime tests that import them from this module."""
import subprocess
import sys

from small_model import CLASS_NAMES, small_description  # noqa: F401

__all__ = ["CLASS_NAMES", "small_description", "run_cli"]


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`lsnet ARGS…` in a fresh interpreter (what a user runs), capturing its output."""
    return subprocess.run([sys.executable, "-m", "lsnet", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)
