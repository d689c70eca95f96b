"""Helpers shared by the runtime tests (imported by name: the test folders have no packages)."""
import subprocess
import sys


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`lsnet ARGS…` in a fresh interpreter (what a user runs), capturing its output."""
    return subprocess.run([sys.executable, "-m", "lsnet", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)
