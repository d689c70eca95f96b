// Python bindings of the CPU twins (module `lsnet_twins`): the plugins' math, compiled from the
// same headers as the CUDA kernels, callable on numpy arrays so tests compare it with PyTorch.
// float32 arrays run the FP32 path; float16 arrays run the FP16-storage path (FP32 math).
#include "../common/half_storage.h"
#include "../decode/decode_shapes.h"
#include "../decode/decode_twin.h"
#include "../pyramid_dcn/pyramid_dcn_shapes.h"
#include "../pyramid_dcn/pyramid_dcn_twin.h"
#include "decode_arguments.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

bool is_float16(py::array const& a)
{
    return a.dtype().kind() == 'f' && a.dtype().itemsize() == 2;
}

lsnet::Shape shape_of(py::array const& a)
{
    return lsnet::Shape(a.shape(), a.shape() + a.ndim());
}

// Arrays as one contiguous dtype: all float16 (FP16 path) or all cast to float32.
std::vector<py::array> as_one_dtype(std::string const& plugin, std::vector<py::array> const& arrays)
{
    bool const half = is_float16(arrays.front());
    std::vector<py::array> out;
    for (py::array const& a : arrays)
    {
        if (is_float16(a) != half)
            throw lsnet::ValidationError(plugin + ": inputs must all be float16 or all float32");
        out.push_back(half ? py::array(py::array_t<uint16_t, py::array::c_style>::ensure(a.attr("view")("uint16")))
                           : py::array(FloatArray::ensure(a)));
    }
    return out;
}

py::array pyramid_dcn(py::array input, py::array offset, py::array weight, std::optional<py::array> bias)
{
    using namespace lsnet::pyramid_dcn;
    std::vector<py::array> arrays{input, offset, weight};
    if (bias)
        arrays.push_back(*bias);
    std::vector<lsnet::Shape> shapes;
    for (py::array const& a : arrays)
        shapes.push_back(shape_of(a));
    Geometry const g = geometry_from_shapes(shapes);
    arrays = as_one_dtype(kPluginName, arrays);
    std::vector<py::ssize_t> const out_shape{g.batch, g.out_channels, g.height, g.width};
    auto const ptr = [&](size_t i) { return i < arrays.size() ? arrays[i].data() : nullptr; };
    if (is_float16(input))
    {
        py::array_t<uint16_t> out(out_shape);
        auto const* in = static_cast<lsnet::Half const*>(ptr(0));
        auto const* off = static_cast<lsnet::Half const*>(ptr(1));
        auto const* w = static_cast<lsnet::Half const*>(ptr(2));
        auto const* b = static_cast<lsnet::Half const*>(ptr(3));
        auto* o = reinterpret_cast<lsnet::Half*>(out.mutable_data());
        {
            py::gil_scoped_release release;
            run_twin(in, off, w, b, o, g);
        }
        return out.attr("view")("float16");
    }
    py::array_t<float> out(out_shape);
    auto const* in = static_cast<float const*>(ptr(0));
    auto const* off = static_cast<float const*>(ptr(1));
    auto const* w = static_cast<float const*>(ptr(2));
    auto const* b = static_cast<float const*>(ptr(3));
    float* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        run_twin(in, off, w, b, o, g);
    }
    return out;
}

py::dict decode(std::vector<py::array> levels, int num_landmarks, std::vector<int> strides, int box_source,
    int pre_nms_top_k, float score_threshold, float iou_threshold, int max_detections, int max_candidates)
{
    using namespace lsnet::decode;
    Config const config = decode_config(num_landmarks, std::move(strides), box_source, pre_nms_top_k, score_threshold,
        iou_threshold, max_detections, max_candidates);
    std::vector<lsnet::Shape> shapes;
    for (py::array const& a : levels)
        shapes.push_back(shape_of(a));
    Problem const problem = problem_from_shapes(config, shapes);
    levels = as_one_dtype(kPluginName, levels);
    std::vector<void const*> inputs;
    for (py::array const& a : levels)
        inputs.push_back(a.data());

    py::ssize_t const batch = problem.batch;
    py::ssize_t const k = max_detections;
    py::array_t<int32_t> num_dets({batch, py::ssize_t{1}});
    py::array_t<float> boxes({batch, k, py::ssize_t{4}});
    py::array_t<float> scores({batch, k});
    py::array_t<int32_t> labels({batch, k});
    py::array_t<float> landmarks({batch, k, py::ssize_t{num_landmarks}, py::ssize_t{2}});
    Outputs const outputs{num_dets.mutable_data(), boxes.mutable_data(), scores.mutable_data(), labels.mutable_data(),
        landmarks.mutable_data()};
    bool const half = !levels.empty() && levels.front().itemsize() == 2;
    {
        py::gil_scoped_release release;
        if (half)
            run_twin<lsnet::Half>(config, problem, inputs.data(), outputs);
        else
            run_twin<float>(config, problem, inputs.data(), outputs);
    }
    py::dict result;
    result["num_dets"] = num_dets;
    result["boxes"] = boxes;
    result["scores"] = scores;
    result["labels"] = labels;
    result["landmarks"] = landmarks;
    return result;
}

FloatArray round_to_half(FloatArray x)
{
    FloatArray out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    float const* in = x.data();
    float* o = out.mutable_data();
    for (py::ssize_t i = 0; i < x.size(); ++i)
        o[i] = lsnet::to_float(lsnet::Half{lsnet::float_to_half_bits(in[i])});
    return out;
}

} // namespace

PYBIND11_MODULE(lsnet_twins, m)
{
    m.doc() = "CPU twins of the LSNet TensorRT plugins (same math headers as the CUDA kernels).";
    m.def("pyramid_dcn", &pyramid_dcn, py::arg("input"), py::arg("offset"), py::arg("weight"),
        py::arg("bias") = py::none(),
        "LSNetPyramidDCN: input [B,C,Hl,Wl], offset [B,18,H,W] (base-level pixels, (y,x) per tap), "
        "weight [Cout,C,3,3], bias [Cout] -> [B,Cout,H,W]. float16 arrays run the FP16 path.");
    m.def("decode", &decode, py::arg("levels"), LSNET_DECODE_CONFIG_ARGS,
        "LSNetDecode: levels = [cls_logits_0, vectors_0(, box_vectors_0), cls_logits_1, ...] -> dict of num_dets, "
        "boxes, scores, labels, landmarks.");
    m.def("round_to_half", &round_to_half, py::arg("x"),
        "float32 -> nearest binary16 -> float32, the conversion the FP16 twins use for storage.");
}
