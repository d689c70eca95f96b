"""The key under which an exported test model is cached between test runs (pytest's cache folder):
one dynamo export takes 30 s to 3 minutes on 2 cores. Shared by the test folders that export."""
import hashlib
import importlib.metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Everything an exported graph depends on besides the checkpoint.
EXPORT_SOURCES = sorted([*REPO.glob("lsnet/model/*.py"), REPO / "lsnet/description.py", REPO / "lsnet/landmarks.py",
                         REPO / "export/onnx_export.py", REPO / "export/decode_graph.py",
                         REPO / "export/graph_builder.py"])
EXPORT_PACKAGES = ("torch", "onnx", "onnxscript", "onnxslim")


def cache_key(model_source: bytes) -> str:
    """Key of an export: what makes the checkpoint, the export code and the exporter's versions."""
    digest = hashlib.sha256(model_source)
    for source in EXPORT_SOURCES:
        digest.update(source.read_bytes())
    for package in EXPORT_PACKAGES:
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:16]
