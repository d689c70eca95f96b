"""Exported test models, cached across test runs: one network export takes 1–3 minutes here.

A model (a recipe of `model_recipes`, or a checkpoint file) goes through the real `export_onnx`;
the portable ONNX is cached in pytest's cache folder (`.pytest_cache/d/lsnet-export-models/`)
under `export_cache.cache_key` of the recipe and `build_checkpoint` (or the checkpoint's bytes):
any change to them, to the export code or to the exporter's versions exports afresh. The patch —
the code under test — runs every session.
"""
import inspect
import json
import shutil
from pathlib import Path

import pytest
from export_cache import REPO, cache_key
from export_helpers import ExportedModel
from model_recipes import RECIPES, build_checkpoint


class ExportedModels:
    """Checkpoint, cached portable ONNX and this session's patch of a model, made on first use:
    `models[name]` for a recipe, `models.of_checkpoint(path)` for a checkpoint file."""

    def __init__(self, cache: Path, patched_dir: Path):
        self.cache, self.patched_dir, self.made = cache, patched_dir, {}

    def __getitem__(self, name: str) -> ExportedModel:
        recipe = RECIPES[name]
        source = json.dumps(recipe, sort_keys=True).encode() + inspect.getsource(build_checkpoint).encode()
        if recipe.get("export", {}).get("frames"):  # the letterbox is part of that export
            source += (REPO / "export/frames_graph.py").read_bytes()
        folder = self._folder(name, source)
        checkpoint = folder / "model.pt"
        if not checkpoint.is_file():
            build_checkpoint(checkpoint, recipe)
        return self._exported(name, checkpoint, folder / "model.onnx", recipe.get("export", {}))

    def of_checkpoint(self, checkpoint: Path, **export_options) -> ExportedModel:
        """`export_options` go to `export_onnx` (e.g. dynamic=True, batch=2, imgsz=(H, W))."""
        name = checkpoint.stem + "".join(f"-{k}{v}" for k, v in sorted(export_options.items())).replace(" ", "")
        folder = self._folder(name, checkpoint.read_bytes())
        return self._exported(name, checkpoint, folder / "model.onnx", export_options)

    def frames(self, name: str) -> ExportedModel:
        """The frames model of recipe `name` (`add_frames_input` on its cached portable ONNX, made
        this session like the patch: the code under test), portable and patched."""
        import onnx

        from lsnet.export.frames_graph import add_frames_input
        from lsnet.export.patch import patch_onnx

        key = f"{name}+frames"
        if key not in self.made:
            base = self[name]
            portable = self.patched_dir / f"{name}.frames.onnx"
            onnx.save(add_frames_input(onnx.load(base.portable)), portable)
            report = patch_onnx(portable, self.patched_dir / f"{name}.frames.trt.onnx")
            self.made[key] = ExportedModel(key, base.checkpoint, portable, report.out, report)
        return self.made[key]

    def _folder(self, name: str, model_source: bytes) -> Path:
        """The model's cache folder; older exports of the same name are stale and go."""
        folder = self.cache / f"{name}-{cache_key(model_source)}"
        for stale in self.cache.glob(f"{name}-*"):
            if stale != folder:
                shutil.rmtree(stale)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _exported(self, name: str, checkpoint: Path, portable: Path, options: dict) -> ExportedModel:
        from lsnet.export.onnx_export import export_onnx
        from lsnet.export.patch import patch_onnx

        if name not in self.made:
            if not portable.is_file():  # export_onnx writes atomically: a file here is complete
                export_onnx(checkpoint, portable, **options)
            report = patch_onnx(portable, self.patched_dir / f"{name}.trt.onnx")
            self.made[name] = ExportedModel(name, checkpoint, portable, report.out, report)
        return self.made[name]


@pytest.fixture(scope="session")
def models(request, tmp_path_factory) -> ExportedModels:
    cache = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`
    folder = cache.mkdir("lsnet-export-models") if cache else tmp_path_factory.mktemp("export-models")
    return ExportedModels(Path(folder), tmp_path_factory.mktemp("patched"))


@pytest.fixture(scope="session")
def calib_data(tmp_path_factory) -> Path:
    """A COCO-layout synthetic dataset: 4 train images to calibrate on, 2 val images not to."""
    from lsnet.data.synth import write_dataset

    root = tmp_path_factory.mktemp("calib")
    write_dataset(root, "bbox", seed=1, counts={"train": 4, "val": 2}, size_range=(96, 160))
    for split in ("train", "val"):  # the test models' classes: eval refuses a dataset of other classes
        name_like_the_test_models(root / "annotations" / f"{split}.json")
    return root


def name_like_the_test_models(annotations: Path, num_classes: int = 3) -> None:
    """Keep the first `num_classes` categories, named `class0`, … as the test models' classes are."""
    coco = json.loads(annotations.read_text())
    coco["categories"] = [dict(c, name=f"class{i}") for i, c in enumerate(coco["categories"][:num_classes])]
    kept = {c["id"] for c in coco["categories"]}
    coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] in kept]
    annotations.write_text(json.dumps(coco))


@pytest.fixture(scope="session")
def int8_onnx(models, calib_data, tmp_path_factory) -> Path:
    """The small bbox test model (batch 2, DCN towers) through `lsnet export quantize --int8`, default options."""
    from lsnet.cli import main

    pytest.importorskip("modelopt.onnx.quantization", reason="needs NVIDIA ModelOpt: pip install 'lsnet-trt[quantize]'")
    out = tmp_path_factory.mktemp("int8") / "model.int8.onnx"
    assert main(["export", "quantize", str(models["bbox"].portable), "--calib", str(calib_data), "--calib-images", "4",
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def fp16_onnx(models, tmp_path_factory) -> Path:
    """The small bbox test model through `lsnet export quantize --fp16`."""
    from lsnet.cli import main

    out = tmp_path_factory.mktemp("fp16") / "model.fp16.onnx"
    assert main(["export", "quantize", str(models["bbox"].portable), "--fp16", "--out", str(out)]) == 0
    return out
