#include "decode_plugin.h"
#include "../common/plugin_base.h"
#include "decode_kernel.h"
#include "decode_shapes.h"

#include <algorithm>

namespace lsnet {
namespace trt {
namespace {

using namespace nvinfer1;

// Outputs, in order (docs/architecture.md §3): num_dets [B,1], boxes [B,K,4], scores [B,K], labels [B,K], landmarks [B,K,N,2].
constexpr DataType kOutputTypes[]
    = {DataType::kINT32, DataType::kFLOAT, DataType::kFLOAT, DataType::kINT32, DataType::kFLOAT};

class DecodePlugin final : public PluginBase<DecodePlugin>
{
public:
    static constexpr char const* kName = decode::kPluginName;
    static constexpr int32_t kNbOutputs = 5;

    // The attributes (README.md), in serialisation order.
    static std::vector<Attribute> const& attributes()
    {
        static std::vector<Attribute> const table{
            {"num_landmarks", PluginFieldType::kINT32, 1},
            {"strides", PluginFieldType::kINT32, 0},
            {"box_source", PluginFieldType::kINT32, 1},
            {"pre_nms_top_k", PluginFieldType::kINT32, 1},
            {"score_threshold", PluginFieldType::kFLOAT32, 1},
            {"iou_threshold", PluginFieldType::kFLOAT32, 1},
            {"max_detections", PluginFieldType::kINT32, 1},
            {"max_candidates", PluginFieldType::kINT32, 1},
        };
        return table;
    }

    static DecodePlugin* create(std::string name, PluginFieldCollection const* fields)
    {
        FieldReader const read(kName, fields);
        decode::Config c;
        c.num_landmarks = read.required_integer("num_landmarks");
        std::vector<int32_t> const strides = read.required_integers("strides");
        c.strides.assign(strides.begin(), strides.end());
        c.box_source = static_cast<decode::BoxSource>(read.required_integer("box_source"));
        c.pre_nms_top_k = read.integer("pre_nms_top_k", c.pre_nms_top_k);
        c.score_threshold = read.real("score_threshold", c.score_threshold);
        c.iou_threshold = read.real("iou_threshold", c.iou_threshold);
        c.max_detections = read.integer("max_detections", c.max_detections);
        c.max_candidates = read.integer("max_candidates", c.max_candidates);
        decode::validate_config(c);
        return new DecodePlugin(std::move(name), std::move(c));
    }

    DecodePlugin(std::string name, decode::Config config)
        : PluginBase(std::move(name))
        , mConfig(std::move(config))
    {
    }

    std::vector<FieldValue> attributeValues()
    {
        mBoxSourceField = static_cast<int32_t>(mConfig.box_source);
        return {{&mConfig.num_landmarks, 1}, {mConfig.strides.data(), static_cast<int32_t>(mConfig.strides.size())},
            {&mBoxSourceField, 1}, {&mConfig.pre_nms_top_k, 1}, {&mConfig.score_threshold, 1},
            {&mConfig.iou_threshold, 1}, {&mConfig.max_detections, 1}, {&mConfig.max_candidates, 1}};
    }

    void validate(std::vector<Shape> const& inputs) const { decode::validate_inputs(mConfig, inputs); }

    void outputTypes(DataType const*, DataType* outputs) const
    {
        std::copy(std::begin(kOutputTypes), std::end(kOutputTypes), outputs);
    }

    void outputShapes(DimsExprs const* inputs, DimsExprs* outputs, IExprBuilder& exprs) const
    {
        IDimensionExpr const* batch = inputs[0].d[0];
        IDimensionExpr const* k = exprs.constant(mConfig.max_detections);
        auto const set = [&](int32_t o, std::vector<IDimensionExpr const*> const& dims) {
            outputs[o].nbDims = static_cast<int32_t>(dims.size());
            for (size_t i = 0; i < dims.size(); ++i)
                outputs[o].d[i] = dims[i];
        };
        set(0, {batch, exprs.constant(1)});
        set(1, {batch, k, exprs.constant(4)});
        set(2, {batch, k});
        set(3, {batch, k});
        set(4, {batch, k, exprs.constant(mConfig.num_landmarks), exprs.constant(2)});
    }

    bool supportsFormat(int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs) const
    {
        PluginTensorDesc const& desc = inOut[pos].desc;
        if (pos < nbInputs) // FP32 or FP16 maps, all of the type of the first input
            return is_linear_float_or_half(desc) && desc.type == inOut[0].desc.type;
        return desc.format == TensorFormat::kLINEAR && desc.type == kOutputTypes[pos - nbInputs];
    }

    size_t workspaceSize(std::vector<Shape> const& largest) const
    {
        return decode::workspace_size(mConfig, decode::problem_from_shapes(mConfig, largest));
    }

    void shapesChanged(std::vector<Shape> const& inputs) { mProblem = decode::problem_from_shapes(mConfig, inputs); }

    cudaError_t launch(PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
        void* workspace, cudaStream_t stream)
    {
        decode::Outputs const out{static_cast<int32_t*>(outputs[0]), static_cast<float*>(outputs[1]),
            static_cast<float*>(outputs[2]), static_cast<int32_t*>(outputs[3]), static_cast<float*>(outputs[4])};
        return decode::launch(element_type(inputDesc[0].type), mConfig, mProblem, inputs, out, workspace, stream);
    }

private:
    decode::Config mConfig;
    // Set by shapesChanged() for the next launch().
    decode::Problem mProblem{};
    // box_source as the int32 that attributeValues() points to.
    int32_t mBoxSourceField = 0;
};

} // namespace

IPluginCreatorV3One* decode_plugin_creator()
{
    static PluginCreator<DecodePlugin> creator;
    return &creator;
}

} // namespace trt
} // namespace lsnet
