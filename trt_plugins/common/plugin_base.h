// What every LSNet IPluginV3 shares with TensorRT, written once (trt_plugins/README.md): the
// capability interfaces, the plugin's identity, clone / attachToContext, the TensorRT call
// signatures (shapes converted, exceptions logged as failures, output counts checked),
// serialisation from the plugin's attribute table, and a creator that reads that table.
// A plugin derives from PluginBase<Plugin> and provides only what is its own:
//   static constexpr char const* kName;  static constexpr int32_t kNbOutputs;
//   static std::vector<Attribute> const& attributes();      // attribute table, serialisation order
//   static Plugin* create(std::string name, nvinfer1::PluginFieldCollection const* fields);
//   std::vector<FieldValue> attributeValues();               // current values, in table order
//   void validate(std::vector<Shape> const& inputs) const;  // throws ValidationError
//   void outputTypes(nvinfer1::DataType const* inputs, nvinfer1::DataType* outputs) const;
//   void outputShapes(nvinfer1::DimsExprs const* inputs, nvinfer1::DimsExprs* outputs, nvinfer1::IExprBuilder&) const;
//   bool supportsFormat(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs) const;
//   size_t workspaceSize(std::vector<Shape> const& largest) const;
//   void shapesChanged(std::vector<Shape> const& inputs);   // before the next launch()
//   cudaError_t launch(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
//       void* workspace, cudaStream_t stream);
#pragma once

#include "plugin_fields.h"
#include "plugin_log.h"
#include "plugin_tensors.h"

#include <NvInferRuntime.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace lsnet {
namespace trt {

constexpr int32_t kSuccess = 0;
constexpr int32_t kFailure = -1;

// Runs `body` (which returns a status); an exception becomes a logged failure, since every plugin
// method TensorRT calls is noexcept.
template <typename Body>
int32_t guarded(Body&& body) noexcept
{
    try
    {
        return body();
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return kFailure;
}

// As guarded(), for methods that return a pointer: nullptr on failure.
template <typename Body>
auto guarded_pointer(Body&& body) noexcept -> decltype(body())
{
    try
    {
        return body();
    }
    catch (std::exception const& e)
    {
        log_error(e.what());
    }
    return nullptr;
}

// enqueue()'s status from a kernel launcher's.
inline int32_t launched(char const* plugin, cudaError_t status) noexcept
{
    return guarded([&] {
        if (status == cudaSuccess)
            return kSuccess;
        log_error((std::string(plugin) + ": kernel launch failed: " + cudaGetErrorString(status)).c_str());
        return kFailure;
    });
}

template <typename Plugin>
class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime
{
public:
    explicit PluginBase(std::string name)
        : mName(std::move(name))
    {
    }

    // A copy serialises into storage of its own.
    PluginBase(PluginBase const& other)
        : mName(other.mName)
    {
    }

    PluginBase& operator=(PluginBase const&) = delete;

    // IPluginV3
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override
    {
        switch (type)
        {
        case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
        case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
        case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
        }
        return nullptr;
    }

    nvinfer1::IPluginV3* clone() noexcept override
    {
        return guarded_pointer([this] { return static_cast<nvinfer1::IPluginV3*>(new Plugin(self())); });
    }

    // IPluginV3OneCore
    char const* getPluginName() const noexcept override { return Plugin::kName; }
    char const* getPluginVersion() const noexcept override { return kPluginVersion; }
    char const* getPluginNamespace() const noexcept override { return kPluginNamespace; }

    // IPluginV3OneBuild
    int32_t getNbOutputs() const noexcept override { return Plugin::kNbOutputs; }

    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t nbOutputs,
        nvinfer1::DataType const* inputTypes, int32_t nbInputs) const noexcept override
    {
        if (nbOutputs != Plugin::kNbOutputs || nbInputs < 1)
            return kFailure;
        self().outputTypes(inputTypes, outputTypes);
        return kSuccess;
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
        nvinfer1::DimsExprs* outputs, int32_t nbOutputs, nvinfer1::IExprBuilder& exprBuilder) noexcept override
    {
        return guarded([&] {
            self().validate(shapes_of(inputs, nbInputs));
            if (nbOutputs != Plugin::kNbOutputs)
                throw ValidationError(std::string(Plugin::kName) + ": has exactly " + std::to_string(Plugin::kNbOutputs)
                    + (Plugin::kNbOutputs == 1 ? " output" : " outputs"));
            self().outputShapes(inputs, outputs, exprBuilder);
            return kSuccess;
        });
    }

    bool supportsFormatCombination(
        int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t) noexcept override
    {
        return self().supportsFormat(pos, inOut, nbInputs);
    }

    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const*, int32_t) noexcept override
    {
        return guarded([&] {
            self().validate(shapes_of(in, nbInputs));
            return kSuccess;
        });
    }

    size_t getWorkspaceSize(nvinfer1::DynamicPluginTensorDesc const* inputs, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const*, int32_t) const noexcept override
    {
        size_t bytes = 0;
        // The largest shapes of the profile bound every intermediate array.
        guarded([&] {
            bytes = self().workspaceSize(shapes_of(inputs, nbInputs, true));
            return kSuccess;
        });
        return bytes;
    }

    // IPluginV3OneRuntime
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs, nvinfer1::PluginTensorDesc const*,
        int32_t) noexcept override
    {
        return guarded([&] {
            self().shapesChanged(shapes_of(in, nbInputs));
            return kSuccess;
        });
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const*,
        void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept override
    {
        return launched(Plugin::kName, self().launch(inputDesc, inputs, outputs, workspace, stream));
    }

    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext*) noexcept override { return clone(); }

    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override
    {
        return guarded_pointer([this] {
            mFields = attribute_fields(Plugin::attributes(), self().attributeValues());
            mFieldCollection.nbFields = static_cast<int32_t>(mFields.size());
            mFieldCollection.fields = mFields.data();
            return &mFieldCollection;
        });
    }

private:
    Plugin& self() { return static_cast<Plugin&>(*this); }
    Plugin const& self() const { return static_cast<Plugin const&>(*this); }

    std::string mName;
    // Storage that getFieldsToSerialize() points into.
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mFieldCollection{0, nullptr};
};

// The creator of `Plugin` (namespace "lsnet", version "1"): its attribute table as field names,
// and createPlugin() through Plugin::create().
template <typename Plugin>
class PluginCreator final : public nvinfer1::IPluginCreatorV3One
{
public:
    PluginCreator()
        : mFieldNames(attribute_fields(Plugin::attributes(), {}))
    {
        mFieldNameCollection.nbFields = static_cast<int32_t>(mFieldNames.size());
        mFieldNameCollection.fields = mFieldNames.data();
    }

    char const* getPluginName() const noexcept override { return Plugin::kName; }
    char const* getPluginVersion() const noexcept override { return kPluginVersion; }
    char const* getPluginNamespace() const noexcept override { return kPluginNamespace; }
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override { return &mFieldNameCollection; }

    nvinfer1::IPluginV3* createPlugin(
        char const* name, nvinfer1::PluginFieldCollection const* fields, nvinfer1::TensorRTPhase) noexcept override
    {
        return guarded_pointer(
            [&] { return static_cast<nvinfer1::IPluginV3*>(Plugin::create(name ? name : "", fields)); });
    }

private:
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFieldNameCollection{0, nullptr};
};

} // namespace trt
} // namespace lsnet
