// Plugin attributes: the table each plugin declares them in, the PluginFields made from it (for
// the creator's field names and for serialisation), and reading them back from a
// PluginFieldCollection (the ONNX parser gives ints as INT32 and floats as FLOAT32; INT64 /
// FLOAT64 are accepted too), with errors naming plugin and field.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lsnet {
namespace trt {

// One row of a plugin's attribute table.
struct Attribute
{
    char const* name;
    nvinfer1::PluginFieldType type;
    int32_t length; // elements; 0 for a list of any length
};

// The current value of an attribute: where it is and how many elements it has.
struct FieldValue
{
    void const* data;
    int32_t length;
};

// PluginFields of `attributes`, in table order: with `values` (one per row) for serialisation, or
// without (empty `values`: null data, the table's lengths) for the creator's field names.
std::vector<nvinfer1::PluginField> attribute_fields(
    std::vector<Attribute> const& attributes, std::vector<FieldValue> const& values);

class FieldReader
{
public:
    FieldReader(char const* plugin, nvinfer1::PluginFieldCollection const* fields);

    // A scalar int; `fallback` when absent.
    int32_t integer(char const* name, int32_t fallback) const;
    // A scalar int that must be present.
    int32_t required_integer(char const* name) const;
    // A list of ints that must be present.
    std::vector<int32_t> required_integers(char const* name) const;
    // A scalar float; `fallback` when absent.
    float real(char const* name, float fallback) const;

private:
    nvinfer1::PluginField const* find(char const* name) const;
    std::vector<int32_t> integers(nvinfer1::PluginField const& field) const;
    [[noreturn]] void reject(char const* name, std::string const& what) const;

    std::string mPlugin;
    nvinfer1::PluginFieldCollection const* mFields;
};

} // namespace trt
} // namespace lsnet
