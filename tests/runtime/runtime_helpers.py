"""Constants and helpers shared by the runtime tests (imported by name: the test folders have no packages)."""
import subprocess
import sys

from lsnet.description import ModelDescription

CLASS_NAMES = ["ellipse", "triangle", "rectangle", "star", "cross"]
INPUT_SIZE = (128, 128)


def small_description(**changes) -> ModelDescription:
    return ModelDescription(**{"task": "bbox", "class_names": CLASS_NAMES, "input_size": INPUT_SIZE, **changes})


def run_cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`lsnet ARGS…` in a fresh interpreter (what a user runs), capturing its output."""
    return subprocess.run([sys.executable, "-m", "lsnet", *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)
