"""The README's Python API block runs as written, on the committed model and a synthetic image."""
import re
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def readme_python_block() -> str:
    section = ROOT.joinpath("README.md").read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs_and_draws(tmp_path, monkeypatch, capsys):
    from lsnet.data.synth import scene

    image, annotations = scene("bbox", seed=0, split="val", index=0, size_range=(160, 224), max_objects=6)
    cv2.imwrite(str(tmp_path / "shapes.jpg"), image)
    (tmp_path / "models").symlink_to(ROOT / "models")
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_python_block(), "README.md", "exec"), {})
    drawn = cv2.imread("shapes_drawn.jpg")
    assert drawn.shape == image.shape
    assert np.abs(drawn.astype(int) - cv2.imread("shapes.jpg")).max() > 100  # boxes and labels drawn
    printed = capsys.readouterr().out
    assert printed.startswith("[") and any(name in printed for name in ("star", "cross", "triangle", "ellipse"))
    assert annotations  # the scene has objects to find
