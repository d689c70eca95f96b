"""LSNet: location-sensitive detection, segmentation and pose, from PyTorch to TensorRT."""
# Kept light on purpose: `lsnet.runtime` must import without torch (docs/architecture.md §1b).
__version__ = "0.1.0"
