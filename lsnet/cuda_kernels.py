"""The TensorRT plugins' CUDA kernels on torch CUDA tensors, without TensorRT (trt_plugins/README.md).

`lsnet_cuda` (built where nvcc is, `lsnet.plugins.load_cuda_kernels`) takes device pointers and a
stream; these wrappers hand it torch tensors and torch's current stream, so the kernels can be
compared with torchvision / PyTorch on a GPU machine that has no TensorRT
(tests/plugins/test_cuda_kernels.py, scripts/gpu_check.sh). Launches are asynchronous on that
stream, as torch's own operations are.
"""
from __future__ import annotations

import torch
from torch import Tensor

from lsnet.errors import LSNetError
from lsnet.model.decode import LevelOutputs
from lsnet.plugins import load_cuda_kernels

DTYPES = (torch.float32, torch.float16)


def _checked(tensors: list[Tensor], what: str) -> list[Tensor]:
    """Contiguous CUDA tensors of one float dtype (float32 or float16), as the kernels take them."""
    dtype = tensors[0].dtype
    for t in tensors:
        if not t.is_cuda or t.dtype != dtype or dtype not in DTYPES:
            raise LSNetError(f"{what}: inputs must be CUDA tensors, all float32 or all float16 "
                             f"(got {t.dtype} on {t.device})")
    return [t.contiguous() for t in tensors]


def _stream(device: torch.device) -> int:
    return torch.cuda.current_stream(device).cuda_stream


def pyramid_dcn(x: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """LSNetPyramidDCN: x [B, C, Hl, Wl], offset [B, 18, H, W], weight [Cout, C, 3, 3] → [B, Cout, H, W]
    (the same call as `lsnet.model.pyramid_dcn.pyramid_deform_conv`)."""
    tensors = _checked([x, offset, weight] + ([bias] if bias is not None else []), "pyramid_dcn")
    x, offset, weight = tensors[:3]
    out = torch.empty((x.shape[0], weight.shape[0], *offset.shape[-2:]), dtype=x.dtype, device=x.device)
    load_cuda_kernels().pyramid_dcn(x.data_ptr(), offset.data_ptr(), weight.data_ptr(),
                                    tensors[3].data_ptr() if bias is not None else 0, out.data_ptr(),
                                    list(x.shape), list(offset.shape), list(weight.shape),
                                    half=x.dtype == torch.float16, stream=_stream(x.device))
    return out


def decode(levels: list[LevelOutputs], strides: list[int], *, num_landmarks: int, box_source: int,
           pre_nms_top_k: int = 1000, score_threshold: float = 0.05, iou_threshold: float = 0.6,
           max_detections: int = 100, max_candidates: int = 4096) -> dict[str, Tensor]:
    """LSNetDecode on the head outputs (the same call as `lsnet.model.decode.decode`, box_source as the
    plugin's index): padded num_dets, boxes, scores, labels, landmarks on the inputs' device."""
    inputs = []
    for level in levels:
        inputs += [level.cls_logits, level.landmark_vectors] + ([level.box_vectors] if box_source == 2 else [])
    inputs = _checked(inputs, "decode")
    device, batch = inputs[0].device, inputs[0].shape[0]
    kernels = load_cuda_kernels()
    config = dict(num_landmarks=num_landmarks, strides=list(strides), box_source=box_source,
                  pre_nms_top_k=pre_nms_top_k, score_threshold=score_threshold, iou_threshold=iou_threshold,
                  max_detections=max_detections, max_candidates=max_candidates)
    shapes = [list(t.shape) for t in inputs]
    workspace_bytes = kernels.decode_workspace_size(shapes, **config)
    workspace = torch.empty(max(workspace_bytes, 1), dtype=torch.uint8, device=device)
    k = max_detections
    out = {"num_dets": torch.empty((batch, 1), dtype=torch.int32, device=device),
           "boxes": torch.empty((batch, k, 4), dtype=torch.float32, device=device),
           "scores": torch.empty((batch, k), dtype=torch.float32, device=device),
           "labels": torch.empty((batch, k), dtype=torch.int32, device=device),
           "landmarks": torch.empty((batch, k, num_landmarks, 2), dtype=torch.float32, device=device)}
    kernels.decode([t.data_ptr() for t in inputs], shapes, [t.data_ptr() for t in out.values()],
                   workspace.data_ptr(), workspace_bytes, **config, half=inputs[0].dtype == torch.float16,
                   stream=_stream(device))
    return out
