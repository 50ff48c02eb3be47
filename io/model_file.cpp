#include "io/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_input.hpp"
#include "layers/architecture.hpp"

namespace xg {

namespace {

using Json = nlohmann::json;

bool all_finite(const Array& a) {
  for (std::size_t k = 0; k < a.size(); ++k)
    if (!std::isfinite(a.data()[k])) return false;
  return true;
}

// Checks that `found` (a file's tensors) are exactly `expected` (a model's
// parameters), by name and shape; throws InputError naming the first misfit.
void check_tensor_shapes(const std::vector<std::pair<std::string, Shape>>& expected,
                         const std::vector<std::pair<std::string, Shape>>& found, const std::string& source) {
  auto find = [](const std::vector<std::pair<std::string, Shape>>& list, const std::string& name) -> const Shape* {
    for (const auto& [n, shape] : list)
      if (n == name) return &shape;
    return nullptr;
  };
  for (const auto& [name, shape] : expected) {
    const Shape* stored = find(found, name);
    if (!stored) throw InputError(source + ": tensor '" + name + "' is missing; the model needs it with shape " + shape_string(shape));
    if (*stored != shape) {
      throw InputError(source + ": tensor '" + name + "' has shape " + shape_string(*stored) + " but the model's " + name +
                       " has shape " + shape_string(shape) + " (a different architecture)");
    }
  }
  for (const auto& [name, shape] : found) {
    if (!find(expected, name)) {
      throw InputError(source + ": unexpected tensor '" + name + "' (shape " + shape_string(shape) + "); the model has no such parameter");
    }
  }
}

// PyTorch's one integer tensor of a state_dict, written as I64 so that
// load_state_dict gets the dtype it has: BatchNorm's counter of training batches.
bool integer_buffer(const std::string& name) {
  const std::string counter = "num_batches_tracked";
  return name.size() >= counter.size() && name.compare(name.size() - counter.size(), counter.size(), counter) == 0;
}

}  // namespace

std::string encode_model(const Sequential& model, const ModelInfo& info) {
  // Parameters and buffers (BatchNorm2d's running statistics), in state_dict order.
  std::vector<std::pair<std::string, Tensor>> named = model.named_state();
  std::vector<std::pair<std::string, const Array*>> tensors;
  std::set<std::string> int64;
  for (const auto& [name, t] : named) {
    if (integer_buffer(name)) int64.insert(name);
    // Training stops at the step that makes a weight non-finite (train/loop.cpp), so this is a bug if it happens.
    if (!all_finite(t.value())) throw std::logic_error("refusing to save a model whose tensor '" + name + "' holds a NaN or infinite value");
    tensors.emplace_back(name, &t.value());
  }
  return encode_safetensors(tensors, {{"xgrad", model_info_json(info).dump()}, {"format", "pt"}}, int64);
}

void save_model(const std::string& path, const Sequential& model, const ModelInfo& info) {
  write_file_atomically(path, encode_model(model, info));
}

void load_weights(Sequential& model, const Safetensors& file, const std::string& source) {
  std::vector<std::pair<std::string, Tensor>> named = model.named_state();
  std::vector<std::pair<std::string, Shape>> expected, found;
  for (const auto& [name, parameter] : named) expected.emplace_back(name, Shape(parameter.value().shape().begin(), parameter.value().shape().end()));
  for (const auto& [name, array] : file.tensors) found.emplace_back(name, Shape(array.shape().begin(), array.shape().end()));
  check_tensor_shapes(expected, found, source);
  for (const auto& [name, array] : file.tensors) {
    if (!all_finite(array)) throw InputError(source + ": tensor '" + name + "' holds a NaN or infinite value");
    const bool variance = name.size() >= 11 && name.compare(name.size() - 11, 11, "running_var") == 0;
    if (variance && std::any_of(array.begin(), array.end(), [](float v) { return v < 0.0f; })) {
      throw InputError(source + ": tensor '" + name + "' holds a negative variance");
    }
  }
  for (auto& [name, parameter] : named) {
    const Array* stored = file.find(name);
    std::memcpy(parameter.data(), stored->data(), stored->size() * sizeof(float));
  }
}

MlpSpec mlp_spec(const ModelInfo& info) {
  MlpSpec spec;
  spec.sizes = info.layers;
  spec.activation = info.activation;
  spec.dropout = info.dropout;
  spec.dropout_seed = info.seed;
  return spec;
}

LoadedModel load_model(const std::string& path) {
  // The header first: the metadata and the tensor shapes it declares are checked
  // against each other before a tensor is read or a model built.
  const SafetensorsHeader header = read_safetensors_header(path);
  auto it = header.metadata.find("xgrad");
  if (it == header.metadata.end()) {
    throw InputError(path + ": no \"xgrad\" entry in __metadata__; only checkpoints written by xgrad train --save can be loaded");
  }
  LoadedModel loaded;
  loaded.path = path;
  loaded.info = model_info_from_json(parse_json(it->second, path + ": xgrad metadata"), path);
  const ModelInfo& info = loaded.info;
  const bool mlp = info.arch == "mlp";
  const std::string arch_source = path + ": xgrad metadata \"arch\"";
  const std::vector<LayerSpec> layers = mlp ? std::vector<LayerSpec>{} : parse_architecture(info.arch, arch_source);
  const Shape input = network_input(Shape(info.input_shape.begin(), info.input_shape.end()));
  std::vector<std::pair<std::string, Shape>> declared;
  for (const SafetensorsEntry& e : header.tensors) declared.emplace_back(e.name, e.shape);
  check_tensor_shapes(mlp ? mlp_parameter_shapes(mlp_spec(info))
                          : architecture_state_shapes(layers, input, info.layers.back(), arch_source),
                      declared, path);
  const Safetensors file = read_safetensors(path, header);
  Rng rng(info.seed);  // the weights are overwritten by the file's
  loaded.model = mlp ? make_mlp(mlp_spec(info), rng) : make_network(layers, input, info.layers.back(), rng, arch_source);
  load_weights(*loaded.model, file, path);
  loaded.model->eval();
  return loaded;
}

}  // namespace xg
