// Python bindings of the CUDA kernels (module `lsnet_cuda`): the launchers the TensorRT plugins
// call, on device pointers given as integers (e.g. torch's `tensor.data_ptr()`) and a CUDA stream
// handle (`torch.cuda.current_stream().cuda_stream`; 0 = the legacy default stream). So the
// kernels run and are tested on a GPU machine without TensorRT (tests/plugins/test_cuda_kernels.py).
// Shapes are validated by the plugins' own checks; launches are asynchronous on `stream`.
#include "../decode/decode_kernel.h"
#include "../decode/decode_shapes.h"
#include "../pyramid_dcn/pyramid_dcn_kernel.h"
#include "../pyramid_dcn/pyramid_dcn_shapes.h"
#include "decode_arguments.h"

#include <cuda_runtime_api.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

using Shapes = std::vector<lsnet::Shape>;

void check(cudaError_t status, char const* what)
{
    if (status != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status)
            + ")");
}

cudaStream_t as_stream(std::uintptr_t handle)
{
    return reinterpret_cast<cudaStream_t>(handle);
}

lsnet::ElementType element_type(bool half)
{
    return half ? lsnet::ElementType::kFloat16 : lsnet::ElementType::kFloat32;
}

int device_count()
{
    int count = 0;
    check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    return count;
}

void pyramid_dcn(std::uintptr_t input, std::uintptr_t offset, std::uintptr_t weight, std::uintptr_t bias,
    std::uintptr_t output, lsnet::Shape input_shape, lsnet::Shape offset_shape, lsnet::Shape weight_shape, bool half,
    std::uintptr_t stream)
{
    using namespace lsnet::pyramid_dcn;
    Shapes shapes{input_shape, offset_shape, weight_shape};
    if (bias)
        shapes.push_back({weight_shape.empty() ? 0 : weight_shape[0]});
    Geometry const geometry = geometry_from_shapes(shapes);
    auto const ptr = [](std::uintptr_t p) { return reinterpret_cast<void*>(p); };
    Tensors const tensors{ptr(input), ptr(offset), ptr(weight), bias ? ptr(bias) : nullptr, ptr(output)};
    check(launch(element_type(half), tensors, geometry, as_stream(stream)), kPluginName);
}

std::size_t decode_workspace_size(Shapes level_shapes, int num_landmarks, std::vector<int> strides, int box_source,
    int pre_nms_top_k, float score_threshold, float iou_threshold, int max_detections, int max_candidates)
{
    using namespace lsnet::decode;
    Config const config = decode_config(num_landmarks, std::move(strides), box_source, pre_nms_top_k, score_threshold,
        iou_threshold, max_detections, max_candidates);
    validate_config(config);
    return workspace_size(config, problem_from_shapes(config, level_shapes));
}

void decode(std::vector<std::uintptr_t> inputs, Shapes level_shapes, std::vector<std::uintptr_t> outputs,
    std::uintptr_t workspace, std::size_t workspace_bytes, int num_landmarks, std::vector<int> strides, int box_source,
    int pre_nms_top_k, float score_threshold, float iou_threshold, int max_detections, int max_candidates, bool half,
    std::uintptr_t stream)
{
    using namespace lsnet::decode;
    Config const config = decode_config(num_landmarks, std::move(strides), box_source, pre_nms_top_k, score_threshold,
        iou_threshold, max_detections, max_candidates);
    validate_config(config);
    Problem const problem = problem_from_shapes(config, level_shapes);
    if (inputs.size() != level_shapes.size())
        throw lsnet::ValidationError(std::string(kPluginName) + ": one device pointer per input shape");
    if (outputs.size() != 5)
        throw lsnet::ValidationError(
            std::string(kPluginName) + ": outputs are 5 device pointers (num_dets, boxes, scores, labels, landmarks)");
    std::size_t const needed = workspace_size(config, problem);
    if (workspace_bytes < needed)
        throw lsnet::ValidationError(std::string(kPluginName) + ": the workspace needs " + std::to_string(needed)
            + " bytes, got " + std::to_string(workspace_bytes));
    std::vector<void const*> in;
    for (std::uintptr_t p : inputs)
        in.push_back(reinterpret_cast<void const*>(p));
    Outputs const out{reinterpret_cast<int32_t*>(outputs[0]), reinterpret_cast<float*>(outputs[1]),
        reinterpret_cast<float*>(outputs[2]), reinterpret_cast<int32_t*>(outputs[3]),
        reinterpret_cast<float*>(outputs[4])};
    check(launch(element_type(half), config, problem, in.data(), out, reinterpret_cast<void*>(workspace),
              as_stream(stream)),
        kPluginName);
}

} // namespace

PYBIND11_MODULE(lsnet_cuda, m)
{
    m.doc() = "The LSNet plugins' CUDA kernels on device pointers (no TensorRT); launches are asynchronous.";
    m.def("device_count", &device_count,
        "CUDA devices visible to the runtime; RuntimeError naming CUDA's error where there is no usable driver.");
    m.def("pyramid_dcn", &pyramid_dcn, py::arg("input"), py::arg("offset"), py::arg("weight"), py::arg("bias"),
        py::arg("output"), py::arg("input_shape"), py::arg("offset_shape"), py::arg("weight_shape"),
        py::arg("half") = false, py::arg("stream") = 0,
        "LSNetPyramidDCN on device pointers: input [B,C,Hl,Wl], offset [B,18,H,W], weight [Cout,C,3,3], bias [Cout] "
        "(0: none) -> output [B,Cout,H,W]; all float32, or all float16 with half=True.");
    m.def("decode_workspace_size", &decode_workspace_size, py::arg("level_shapes"), LSNET_DECODE_CONFIG_ARGS,
        "Bytes of device workspace LSNetDecode needs for inputs of these shapes.");
    m.def("decode", &decode, py::arg("inputs"), py::arg("level_shapes"), py::arg("outputs"), py::arg("workspace"),
        py::arg("workspace_bytes"), LSNET_DECODE_CONFIG_ARGS, py::arg("half") = false, py::arg("stream") = 0,
        "LSNetDecode on device pointers: inputs in plugin order (cls_logits_0, vectors_0(, box_vectors_0), ...), "
        "outputs = [num_dets int32 [B,1], boxes [B,K,4], scores [B,K], labels int32 [B,K], landmarks [B,K,N,2]].");
}
