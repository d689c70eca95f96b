#include "plugin_fields.h"
#include "tensor_shape.h"

#include <cstring>

namespace lsnet {
namespace trt {

std::vector<nvinfer1::PluginField> attribute_fields(
    std::vector<Attribute> const& attributes, std::vector<FieldValue> const& values)
{
    if (!values.empty() && values.size() != attributes.size())
        throw ValidationError("plugin attribute table and values differ in length");
    std::vector<nvinfer1::PluginField> fields;
    for (size_t i = 0; i < attributes.size(); ++i)
    {
        Attribute const& a = attributes[i];
        fields.emplace_back(a.name, values.empty() ? nullptr : values[i].data, a.type,
            values.empty() ? a.length : values[i].length);
    }
    return fields;
}

FieldReader::FieldReader(char const* plugin, nvinfer1::PluginFieldCollection const* fields)
    : mPlugin(plugin)
    , mFields(fields)
{
}

nvinfer1::PluginField const* FieldReader::find(char const* name) const
{
    for (int32_t i = 0; mFields && i < mFields->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = mFields->fields[i];
        if (field.name && std::strcmp(field.name, name) == 0)
            return &field;
    }
    return nullptr;
}

void FieldReader::reject(char const* name, std::string const& what) const
{
    throw ValidationError(mPlugin + ": attribute " + name + " " + what);
}

std::vector<int32_t> FieldReader::integers(nvinfer1::PluginField const& field) const
{
    std::vector<int32_t> values;
    for (int32_t i = 0; i < field.length; ++i)
    {
        if (field.type == nvinfer1::PluginFieldType::kINT32)
            values.push_back(static_cast<int32_t const*>(field.data)[i]);
        else if (field.type == nvinfer1::PluginFieldType::kINT64)
            values.push_back(static_cast<int32_t>(static_cast<int64_t const*>(field.data)[i]));
        else
            reject(field.name, "must be int32 or int64");
    }
    return values;
}

int32_t FieldReader::integer(char const* name, int32_t fallback) const
{
    nvinfer1::PluginField const* field = find(name);
    return field ? required_integer(name) : fallback;
}

int32_t FieldReader::required_integer(char const* name) const
{
    nvinfer1::PluginField const* field = find(name);
    if (!field)
        reject(name, "is required");
    std::vector<int32_t> const values = integers(*field);
    if (values.size() != 1)
        reject(name, "must be a single int");
    return values[0];
}

std::vector<int32_t> FieldReader::required_integers(char const* name) const
{
    nvinfer1::PluginField const* field = find(name);
    if (!field)
        reject(name, "is required");
    return integers(*field);
}

float FieldReader::real(char const* name, float fallback) const
{
    nvinfer1::PluginField const* field = find(name);
    if (!field)
        return fallback;
    if (field->length != 1)
        reject(name, "must be a single float");
    if (field->type == nvinfer1::PluginFieldType::kFLOAT32)
        return *static_cast<float const*>(field->data);
    if (field->type == nvinfer1::PluginFieldType::kFLOAT64)
        return static_cast<float>(*static_cast<double const*>(field->data));
    reject(name, "must be float32 or float64");
}

} // namespace trt
} // namespace lsnet
