"""`lsnet.export`: portable ONNX, graph surgery for the TensorRT plugins, TensorRT engines, Triton."""
