#include "decode_plugin.h"
#include "../common/plugin_fields.h"
#include "../common/plugin_log.h"
#include "../common/plugin_tensors.h"
#include "decode_kernel.h"
#include "decode_shapes.h"

#include <exception>

namespace lsnet {
namespace trt {

using namespace nvinfer1;

namespace {

constexpr int32_t kSuccess = 0;
constexpr int32_t kFailure = -1;

// Outputs, in order (docs/architecture.md §3): num_dets [B,1], boxes [B,K,4], scores [B,K], labels [B,K], landmarks [B,K,N,2].
constexpr int32_t kNumOutputs = 5;
constexpr DataType kOutputTypes[kNumOutputs]
    = {DataType::kINT32, DataType::kFLOAT, DataType::kFLOAT, DataType::kINT32, DataType::kFLOAT};

decode::Config config_from_fields(PluginFieldCollection const* fc)
{
    FieldReader const fields(decode::kPluginName, fc);
    decode::Config c;
    c.num_landmarks = fields.required_integer("num_landmarks");
    std::vector<int32_t> const strides = fields.required_integers("strides");
    c.strides.assign(strides.begin(), strides.end());
    c.box_source = static_cast<decode::BoxSource>(fields.required_integer("box_source"));
    c.pre_nms_top_k = fields.integer("pre_nms_top_k", c.pre_nms_top_k);
    c.score_threshold = fields.real("score_threshold", c.score_threshold);
    c.iou_threshold = fields.real("iou_threshold", c.iou_threshold);
    c.max_detections = fields.integer("max_detections", c.max_detections);
    c.max_candidates = fields.integer("max_candidates", c.max_candidates);
    decode::validate_config(c);
    return c;
}

} // namespace

DecodePlugin::DecodePlugin(std::string name, decode::Config config)
    : mName(std::move(name))
    , mConfig(std::move(config))
{
}

IPluginCapability* DecodePlugin::getCapabilityInterface(PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
    case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
    }
    return nullptr;
}

IPluginV3* DecodePlugin::clone() noexcept
{
    try
    {
        auto* copy = new DecodePlugin(mName, mConfig);
        copy->mProblem = mProblem;
        return copy;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

char const* DecodePlugin::getPluginName() const noexcept
{
    return decode::kPluginName;
}

char const* DecodePlugin::getPluginVersion() const noexcept
{
    return kPluginVersion;
}

char const* DecodePlugin::getPluginNamespace() const noexcept
{
    return kPluginNamespace;
}

int32_t DecodePlugin::getNbOutputs() const noexcept
{
    return kNumOutputs;
}

int32_t DecodePlugin::getOutputDataTypes(DataType* outputTypes, int32_t nbOutputs, DataType const*, int32_t) const noexcept
{
    if (nbOutputs != kNumOutputs)
        return kFailure;
    for (int32_t i = 0; i < kNumOutputs; ++i)
        outputTypes[i] = kOutputTypes[i];
    return kSuccess;
}

int32_t DecodePlugin::getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const*, int32_t,
    DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& exprBuilder) noexcept
{
    try
    {
        std::vector<Shape> shapes;
        for (int32_t i = 0; i < nbInputs; ++i)
            shapes.push_back(shape_of(inputs[i]));
        decode::validate_inputs(mConfig, shapes);
        if (nbOutputs != kNumOutputs)
            throw ValidationError(std::string(decode::kPluginName) + ": has exactly 5 outputs");
        IDimensionExpr const* batch = inputs[0].d[0];
        IDimensionExpr const* k = exprBuilder.constant(mConfig.max_detections);
        auto const set = [&](int32_t o, std::vector<IDimensionExpr const*> const& dims) {
            outputs[o].nbDims = static_cast<int32_t>(dims.size());
            for (size_t i = 0; i < dims.size(); ++i)
                outputs[o].d[i] = dims[i];
        };
        set(0, {batch, exprBuilder.constant(1)});
        set(1, {batch, k, exprBuilder.constant(4)});
        set(2, {batch, k});
        set(3, {batch, k});
        set(4, {batch, k, exprBuilder.constant(mConfig.num_landmarks), exprBuilder.constant(2)});
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

bool DecodePlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t) noexcept
{
    PluginTensorDesc const& desc = inOut[pos].desc;
    if (pos < nbInputs) // FP32 or FP16 maps, all of the type of the first input
        return is_linear_float_or_half(desc) && desc.type == inOut[0].desc.type;
    return desc.format == TensorFormat::kLINEAR && desc.type == kOutputTypes[pos - nbInputs];
}

int32_t DecodePlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t) noexcept
{
    try
    {
        std::vector<Shape> shapes;
        for (int32_t i = 0; i < nbInputs; ++i)
            shapes.push_back(shape_of(in[i].desc.dims));
        decode::validate_inputs(mConfig, shapes);
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

size_t DecodePlugin::getWorkspaceSize(
    DynamicPluginTensorDesc const* inputs, int32_t nbInputs, DynamicPluginTensorDesc const*, int32_t) const noexcept
{
    try
    {
        // The largest shapes of the profile bound every intermediate array.
        std::vector<Shape> shapes;
        for (int32_t i = 0; i < nbInputs; ++i)
            shapes.push_back(shape_of(inputs[i].max));
        return decode::workspace_size(mConfig, decode::problem_from_shapes(mConfig, shapes));
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return 0;
}

int32_t DecodePlugin::onShapeChange(PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const*, int32_t) noexcept
{
    try
    {
        std::vector<Shape> shapes;
        for (int32_t i = 0; i < nbInputs; ++i)
            shapes.push_back(shape_of(in[i].dims));
        mProblem = decode::problem_from_shapes(mConfig, shapes);
        return kSuccess;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

int32_t DecodePlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const*, void const* const* inputs,
    void* const* outputs, void* workspace, cudaStream_t stream) noexcept
{
    decode::Outputs const out{static_cast<int32_t*>(outputs[0]), static_cast<float*>(outputs[1]),
        static_cast<float*>(outputs[2]), static_cast<int32_t*>(outputs[3]), static_cast<float*>(outputs[4])};
    cudaError_t const status
        = decode::launch(element_type(inputDesc[0].type), mConfig, mProblem, inputs, out, workspace, stream);
    if (status == cudaSuccess)
        return kSuccess;
    log_error((std::string(decode::kPluginName) + ": kernel launch failed: " + cudaGetErrorString(status)).c_str());
    return kFailure;
}

IPluginV3* DecodePlugin::attachToContext(IPluginResourceContext*) noexcept
{
    return clone();
}

PluginFieldCollection const* DecodePlugin::getFieldsToSerialize() noexcept
{
    try
    {
        mBoxSourceField = static_cast<int32_t>(mConfig.box_source);
        mFields = {
            PluginField("num_landmarks", &mConfig.num_landmarks, PluginFieldType::kINT32, 1),
            PluginField("strides", mConfig.strides.data(), PluginFieldType::kINT32,
                static_cast<int32_t>(mConfig.strides.size())),
            PluginField("box_source", &mBoxSourceField, PluginFieldType::kINT32, 1),
            PluginField("pre_nms_top_k", &mConfig.pre_nms_top_k, PluginFieldType::kINT32, 1),
            PluginField("score_threshold", &mConfig.score_threshold, PluginFieldType::kFLOAT32, 1),
            PluginField("iou_threshold", &mConfig.iou_threshold, PluginFieldType::kFLOAT32, 1),
            PluginField("max_detections", &mConfig.max_detections, PluginFieldType::kINT32, 1),
            PluginField("max_candidates", &mConfig.max_candidates, PluginFieldType::kINT32, 1),
        };
        mFieldCollection.nbFields = static_cast<int32_t>(mFields.size());
        mFieldCollection.fields = mFields.data();
        return &mFieldCollection;
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

DecodePluginCreator::DecodePluginCreator()
    : mFieldNames{
        PluginField("num_landmarks", nullptr, PluginFieldType::kINT32, 1),
        PluginField("strides", nullptr, PluginFieldType::kINT32),
        PluginField("box_source", nullptr, PluginFieldType::kINT32, 1),
        PluginField("pre_nms_top_k", nullptr, PluginFieldType::kINT32, 1),
        PluginField("score_threshold", nullptr, PluginFieldType::kFLOAT32, 1),
        PluginField("iou_threshold", nullptr, PluginFieldType::kFLOAT32, 1),
        PluginField("max_detections", nullptr, PluginFieldType::kINT32, 1),
        PluginField("max_candidates", nullptr, PluginFieldType::kINT32, 1),
    }
{
    mFieldNameCollection.nbFields = static_cast<int32_t>(mFieldNames.size());
    mFieldNameCollection.fields = mFieldNames.data();
}

char const* DecodePluginCreator::getPluginName() const noexcept
{
    return decode::kPluginName;
}

char const* DecodePluginCreator::getPluginVersion() const noexcept
{
    return kPluginVersion;
}

char const* DecodePluginCreator::getPluginNamespace() const noexcept
{
    return kPluginNamespace;
}

PluginFieldCollection const* DecodePluginCreator::getFieldNames() noexcept
{
    return &mFieldNameCollection;
}

IPluginV3* DecodePluginCreator::createPlugin(char const* name, PluginFieldCollection const* fc, TensorRTPhase) noexcept
{
    try
    {
        return new DecodePlugin(name ? name : "", config_from_fields(fc));
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

} // namespace trt
} // namespace lsnet
