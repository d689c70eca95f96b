// Drives liblsnet_trt_plugins.so through the calls TensorRT makes at build time (no GPU, no
// TensorRT library needed): creators from getCreators(), attribute parsing, output types and
// shapes (with stand-in dimension expressions), format negotiation, configure / onShapeChange
// validation, and the serialise → deserialise round trip. Exit code 0 when every check holds.
#include <NvInferRuntime.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <vector>

using namespace nvinfer1;

extern "C" IPluginCreatorInterface* const* getCreators(int32_t& nbCreators);
extern "C" void setLoggerFinder(ILoggerFinder* finder);

namespace {

int gFailures = 0;

#define CHECK(condition)                                                                                               \
    do                                                                                                                 \
    {                                                                                                                  \
        if (!(condition))                                                                                              \
        {                                                                                                              \
            std::printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #condition);                                       \
            ++gFailures;                                                                                               \
        }                                                                                                              \
    } while (0)

// Records what the plugins log, as TensorRT's logger would receive it.
class RecordingLogger final : public ILogger
{
public:
    void log(Severity, AsciiChar const* message) noexcept override { last = message; }
    std::string last;
};

class RecordingLoggerFinder final : public ILoggerFinder
{
public:
    ILogger* findLogger() override { return &logger; }
    RecordingLogger logger;
};

// Stand-ins for TensorRT's dimension expressions: a value >= 0 is a build-time constant, -1 symbolic.
class StandInDimension final : public IDimensionExpr
{
public:
    explicit StandInDimension(int64_t value)
    {
        mFacet.value = value;
        mImpl = &mFacet;
    }

private:
    struct Facet final : apiv::VDimensionExpr
    {
        bool isConstant() const override { return value >= 0; }
        int64_t getConstantValue() const override
        {
            return value >= 0 ? value : std::numeric_limits<int64_t>::min();
        }
        bool isSizeTensor() const override { return false; }
        int64_t value = -1;
    };
    Facet mFacet;
};

class StandInExprBuilder final : public IExprBuilder
{
public:
    StandInExprBuilder()
    {
        mFacet.dims = &mDims;
        mImpl = &mFacet;
    }

    IDimensionExpr const* dim(int64_t value) { return mFacet.constant(value); }

    DimsExprs dims(std::vector<int64_t> const& values)
    {
        DimsExprs d{};
        d.nbDims = static_cast<int32_t>(values.size());
        for (size_t i = 0; i < values.size(); ++i)
            d.d[i] = dim(values[i]);
        return d;
    }

private:
    struct Facet final : apiv::VExprBuilder
    {
        IDimensionExpr const* constant(int64_t value) override
        {
            dims->emplace_back(value);
            return &dims->back();
        }
        IDimensionExpr const* operation(DimensionOperation, IDimensionExpr const&, IDimensionExpr const&) override
        {
            return constant(-1);
        }
        IDimensionExpr const* declareSizeTensor(int32_t, IDimensionExpr const&, IDimensionExpr const&) override
        {
            return constant(-1);
        }
        std::deque<StandInDimension>* dims = nullptr;
    };
    std::deque<StandInDimension> mDims;
    Facet mFacet;
};

Dims make_dims(std::vector<int64_t> const& values)
{
    Dims d{};
    d.nbDims = static_cast<int32_t>(values.size());
    for (size_t i = 0; i < values.size(); ++i)
        d.d[i] = values[i];
    return d;
}

DynamicPluginTensorDesc dynamic_desc(std::vector<int64_t> const& dims, DataType type = DataType::kFLOAT)
{
    DynamicPluginTensorDesc desc{};
    desc.desc.dims = make_dims(dims);
    desc.desc.type = type;
    desc.desc.format = TensorFormat::kLINEAR;
    desc.min = desc.opt = desc.max = make_dims(dims);
    return desc;
}

PluginTensorDesc runtime_desc(std::vector<int64_t> const& dims)
{
    return dynamic_desc(dims).desc;
}

IPluginCreatorV3One* find_creator(char const* name)
{
    int32_t count = 0;
    IPluginCreatorInterface* const* creators = getCreators(count);
    for (int32_t i = 0; i < count; ++i)
    {
        auto* creator = static_cast<IPluginCreatorV3One*>(creators[i]);
        if (std::strcmp(creator->getInterfaceInfo().kind, "PLUGIN CREATOR_V3ONE") == 0
            && std::strcmp(creator->getPluginName(), name) == 0)
            return creator;
    }
    return nullptr;
}

IPluginV3OneBuild* build_of(IPluginV3* plugin)
{
    return static_cast<IPluginV3OneBuild*>(plugin->getCapabilityInterface(PluginCapabilityType::kBUILD));
}

IPluginV3OneRuntime* runtime_of(IPluginV3* plugin)
{
    return static_cast<IPluginV3OneRuntime*>(plugin->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
}

void test_library(RecordingLogger&)
{
    int32_t count = 0;
    getCreators(count);
    CHECK(count == 2);
    for (char const* name : {"LSNetPyramidDCN", "LSNetDecode"})
    {
        IPluginCreatorV3One* creator = find_creator(name);
        CHECK(creator != nullptr);
        if (creator)
        {
            CHECK(std::strcmp(creator->getPluginVersion(), "1") == 0);
            CHECK(std::strcmp(creator->getPluginNamespace(), "lsnet") == 0);
        }
    }
}

void test_pyramid_dcn(RecordingLogger& logger)
{
    IPluginV3* plugin = find_creator("LSNetPyramidDCN")->createPlugin("dcn", nullptr, TensorRTPhase::kBUILD);
    CHECK(plugin != nullptr);
    auto* core = static_cast<IPluginV3OneCore*>(plugin->getCapabilityInterface(PluginCapabilityType::kCORE));
    CHECK(std::strcmp(core->getPluginNamespace(), "lsnet") == 0);
    IPluginV3OneBuild* build = build_of(plugin);
    CHECK(build->getNbOutputs() == 1);

    DataType const in_types[4] = {DataType::kHALF, DataType::kHALF, DataType::kHALF, DataType::kHALF};
    DataType out_type = DataType::kFLOAT;
    CHECK(build->getOutputDataTypes(&out_type, 1, in_types, 4) == 0 && out_type == DataType::kHALF);

    // Dynamic batch and level size, known channels: [B, 16, ?, ?] sampled on a [B, 18, 25, 38] grid.
    StandInExprBuilder exprs;
    DimsExprs inputs[4] = {exprs.dims({-1, 16, -1, -1}), exprs.dims({-1, 18, 25, 38}), exprs.dims({32, 16, 3, 3}),
        exprs.dims({32})};
    DimsExprs output{};
    CHECK(build->getOutputShapes(inputs, 4, nullptr, 0, &output, 1, exprs) == 0);
    CHECK(output.nbDims == 4 && output.d[0] == inputs[0].d[0] && output.d[1] == inputs[2].d[0]
        && output.d[2] == inputs[1].d[2] && output.d[3] == inputs[1].d[3]);
    inputs[2] = exprs.dims({32, 8, 3, 3});
    CHECK(build->getOutputShapes(inputs, 4, nullptr, 0, &output, 1, exprs) != 0);
    CHECK(logger.last.find("LSNetPyramidDCN: weight must be [Cout, C, 3, 3] with C = input channels (16)") == 0);

    DynamicPluginTensorDesc io[4] = {dynamic_desc({2, 16, 13, 19}), dynamic_desc({2, 18, 25, 38}),
        dynamic_desc({32, 16, 3, 3}), dynamic_desc({2, 32, 25, 38})};
    CHECK(build->supportsFormatCombination(0, io, 3, 1));
    io[1].desc.type = DataType::kHALF;
    CHECK(!build->supportsFormatCombination(1, io, 3, 1)); // types must agree
    io[0].desc.type = DataType::kINT8;
    CHECK(!build->supportsFormatCombination(0, io, 3, 1));
    io[0].desc.type = io[1].desc.type = DataType::kFLOAT;
    io[0].desc.format = TensorFormat::kHWC8;
    CHECK(!build->supportsFormatCombination(0, io, 3, 1));
    io[0].desc.format = TensorFormat::kLINEAR;

    DynamicPluginTensorDesc configured[3] = {dynamic_desc({-1, 16, -1, -1}), dynamic_desc({-1, 18, -1, -1}),
        dynamic_desc({32, 16, 3, 3})};
    CHECK(build->configurePlugin(configured, 3, io + 3, 1) == 0);
    configured[1] = dynamic_desc({-1, 9, -1, -1});
    CHECK(build->configurePlugin(configured, 3, io + 3, 1) != 0);
    CHECK(logger.last.find("LSNetPyramidDCN: offset must be [B, 18, H, W]") == 0);

    IPluginV3OneRuntime* runtime = runtime_of(plugin);
    PluginTensorDesc shapes[3] = {runtime_desc({2, 16, 13, 19}), runtime_desc({2, 18, 25, 38}),
        runtime_desc({32, 16, 3, 3})};
    PluginTensorDesc out = runtime_desc({2, 32, 25, 38});
    CHECK(runtime->onShapeChange(shapes, 3, &out, 1) == 0);
    CHECK(runtime->getFieldsToSerialize()->nbFields == 0);
    IPluginV3* copy = plugin->clone();
    CHECK(copy != nullptr);
    delete copy;
    delete plugin;
}

struct DecodeFields
{
    int32_t num_landmarks = 17;
    int64_t strides[3] = {8, 16, 32}; // INT64, as some exporters write ints
    int32_t box_source = 2;
    float score_threshold = 0.25f;
    int32_t max_detections = 20;
    std::vector<PluginField> fields{
        PluginField("num_landmarks", &num_landmarks, PluginFieldType::kINT32, 1),
        PluginField("strides", strides, PluginFieldType::kINT64, 3),
        PluginField("box_source", &box_source, PluginFieldType::kINT32, 1),
        PluginField("score_threshold", &score_threshold, PluginFieldType::kFLOAT32, 1),
        PluginField("max_detections", &max_detections, PluginFieldType::kINT32, 1),
    };
    PluginFieldCollection collection() { return PluginFieldCollection{static_cast<int32_t>(fields.size()), fields.data()}; }
};

template <typename T>
T field_value(PluginFieldCollection const* fc, char const* name, int32_t index = 0)
{
    for (int32_t i = 0; i < fc->nbFields; ++i)
    {
        if (std::strcmp(fc->fields[i].name, name) == 0)
            return static_cast<T const*>(fc->fields[i].data)[index];
    }
    return T(-12345);
}

void test_decode(RecordingLogger& logger)
{
    IPluginCreatorV3One* creator = find_creator("LSNetDecode");
    DecodeFields attributes;
    PluginFieldCollection fc = attributes.collection();
    IPluginV3* plugin = creator->createPlugin("decode", &fc, TensorRTPhase::kBUILD);
    CHECK(plugin != nullptr);
    IPluginV3OneBuild* build = build_of(plugin);
    CHECK(build->getNbOutputs() == 5);

    DataType in_types[9];
    for (DataType& t : in_types)
        t = DataType::kHALF;
    DataType out_types[5];
    CHECK(build->getOutputDataTypes(out_types, 5, in_types, 9) == 0);
    CHECK(out_types[0] == DataType::kINT32 && out_types[1] == DataType::kFLOAT && out_types[2] == DataType::kFLOAT
        && out_types[3] == DataType::kINT32 && out_types[4] == DataType::kFLOAT);

    StandInExprBuilder exprs;
    std::vector<DimsExprs> inputs;
    int64_t const sizes[3][2] = {{-1, -1}, {20, 24}, {10, 12}};
    for (auto const& hw : sizes)
    {
        inputs.push_back(exprs.dims({-1, 1, hw[0], hw[1]}));
        inputs.push_back(exprs.dims({-1, 72, hw[0], hw[1]}));
        inputs.push_back(exprs.dims({-1, 20, hw[0], hw[1]}));
    }
    DimsExprs outputs[5]{};
    CHECK(build->getOutputShapes(inputs.data(), 9, nullptr, 0, outputs, 5, exprs) == 0);
    CHECK(outputs[0].nbDims == 2 && outputs[0].d[0] == inputs[0].d[0] && outputs[0].d[1]->getConstantValue() == 1);
    CHECK(outputs[1].nbDims == 3 && outputs[1].d[1]->getConstantValue() == 20 && outputs[1].d[2]->getConstantValue() == 4);
    CHECK(outputs[2].nbDims == 2 && outputs[3].nbDims == 2);
    CHECK(outputs[4].nbDims == 4 && outputs[4].d[2]->getConstantValue() == 17 && outputs[4].d[3]->getConstantValue() == 2);
    inputs[4] = exprs.dims({-1, 68, 20, 24});
    CHECK(build->getOutputShapes(inputs.data(), 9, nullptr, 0, outputs, 5, exprs) != 0);
    CHECK(logger.last == "LSNetDecode: vectors_1 must be [B, 4*(num_landmarks+1), H_1, W_1] = [?, 72, 20, 24], got [?, 68, 20, 24]");

    std::vector<DynamicPluginTensorDesc> io;
    for (int i = 0; i < 9; ++i)
        io.push_back(dynamic_desc({2, i % 3 == 0 ? 1 : (i % 3 == 1 ? 72 : 20), 20, 24}, DataType::kHALF));
    io.push_back(dynamic_desc({2, 1}, DataType::kINT32));
    io.push_back(dynamic_desc({2, 20, 4}));
    CHECK(build->supportsFormatCombination(0, io.data(), 9, 5));
    CHECK(build->supportsFormatCombination(9, io.data(), 9, 5)); // num_dets int32
    CHECK(build->supportsFormatCombination(10, io.data(), 9, 5)); // boxes float32
    io[9].desc.type = DataType::kFLOAT;
    CHECK(!build->supportsFormatCombination(9, io.data(), 9, 5));

    // Serialise, then create as TensorRT does when deserialising: the same attributes come back.
    PluginFieldCollection const* saved = runtime_of(plugin)->getFieldsToSerialize();
    CHECK(saved != nullptr && saved->nbFields == 8);
    IPluginV3* restored = creator->createPlugin("decode", saved, TensorRTPhase::kRUNTIME);
    CHECK(restored != nullptr);
    PluginFieldCollection const* again = runtime_of(restored)->getFieldsToSerialize();
    CHECK(field_value<int32_t>(again, "num_landmarks") == 17);
    CHECK(field_value<int32_t>(again, "strides", 2) == 32);
    CHECK(field_value<int32_t>(again, "box_source") == 2);
    CHECK(field_value<float>(again, "score_threshold") == 0.25f);
    CHECK(field_value<float>(again, "iou_threshold") == 0.6f); // default
    CHECK(field_value<int32_t>(again, "pre_nms_top_k") == 1000);
    CHECK(field_value<int32_t>(again, "max_detections") == 20);
    CHECK(field_value<int32_t>(again, "max_candidates") == 4096);

    std::vector<PluginTensorDesc> shapes;
    for (int i = 0; i < 9; ++i)
        shapes.push_back(runtime_desc({2, i % 3 == 0 ? 1 : (i % 3 == 1 ? 72 : 20), 20 >> (i / 3), 24 >> (i / 3)}));
    CHECK(runtime_of(restored)->onShapeChange(shapes.data(), 9, nullptr, 5) == 0);
    shapes[0] = runtime_desc({3, 1, 20, 24});
    CHECK(runtime_of(restored)->onShapeChange(shapes.data(), 9, nullptr, 5) != 0);
    CHECK(logger.last.rfind("LSNetDecode: vectors_0 must be [B, 4*(num_landmarks+1), H_0, W_0] = [3, 72", 0) == 0);
    delete restored;
    delete plugin;

    attributes.fields.erase(attributes.fields.begin()); // no num_landmarks
    fc = attributes.collection();
    CHECK(creator->createPlugin("decode", &fc, TensorRTPhase::kBUILD) == nullptr);
    CHECK(logger.last == "LSNetDecode: attribute num_landmarks is required");
    attributes.box_source = 0;
    attributes.fields.insert(attributes.fields.begin(),
        PluginField("num_landmarks", &attributes.num_landmarks, PluginFieldType::kFLOAT32, 1));
    fc = attributes.collection();
    CHECK(creator->createPlugin("decode", &fc, TensorRTPhase::kBUILD) == nullptr);
    CHECK(logger.last == "LSNetDecode: attribute num_landmarks must be int32 or int64");
}

} // namespace

int main()
{
    RecordingLoggerFinder finder;
    setLoggerFinder(&finder);
    test_library(finder.logger);
    test_pyramid_dcn(finder.logger);
    test_decode(finder.logger);
    std::printf("%s (%d failed checks)\n", gFailures ? "FAILED" : "OK", gFailures);
    return gFailures ? 1 : 0;
}
