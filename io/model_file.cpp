#include "io/model_file.hpp"

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace xg {

const char* const kXgradVersion = "0.1.0";

namespace {

using Json = nlohmann::json;

template <class T>
T get_field(const Json& doc, const char* key, const std::string& source) {
  auto it = doc.find(key);
  if (it == doc.end()) throw InputError(source + ": xgrad metadata has no \"" + key + "\"");
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    throw InputError(source + ": xgrad metadata field \"" + key + "\" has the wrong type");
  }
}

}  // namespace

Json model_info_json(const ModelInfo& i) {
  Json doc = {{"layers", i.layers},   {"activation", i.activation}, {"dropout", i.dropout},
          {"head", i.head},       {"input_shape", i.input_shape},
          {"mean", i.mean},       {"std", i.std},               {"classes", i.classes}, {"config", i.config},
          {"seed", i.seed},       {"version", i.version},       {"data_sha256", i.data_sha256},
          {"epoch", i.epoch}};
  if (!i.features.empty()) doc["features"] = i.features;
  if (!i.evaluation.empty()) doc["evaluation"] = i.evaluation;
  return doc;
}

ModelInfo model_info_from_json(const Json& doc, const std::string& source) {
  if (!doc.is_object()) throw InputError(source + ": xgrad metadata is not a JSON object");
  ModelInfo i;
  i.layers = get_field<std::vector<std::size_t>>(doc, "layers", source);
  i.activation = get_field<std::string>(doc, "activation", source);
  i.head = get_field<std::string>(doc, "head", source);
  i.dropout = doc.value("dropout", 0.0f);
  i.input_shape = get_field<std::vector<std::size_t>>(doc, "input_shape", source);
  i.mean = get_field<std::vector<float>>(doc, "mean", source);
  i.std = get_field<std::vector<float>>(doc, "std", source);
  i.classes = get_field<std::vector<std::string>>(doc, "classes", source);
  if (doc.contains("features")) i.features = get_field<std::vector<std::string>>(doc, "features", source);
  i.config = doc.value("config", Json::object());
  i.seed = get_field<std::uint64_t>(doc, "seed", source);
  i.version = get_field<std::string>(doc, "version", source);
  i.data_sha256 = doc.value("data_sha256", std::string());
  i.epoch = doc.value("epoch", std::size_t(0));
  if (doc.contains("evaluation") && doc["evaluation"].is_object()) i.evaluation = doc["evaluation"];

  auto bad = [&](const std::string& what) { throw InputError(source + ": xgrad metadata: " + what); };
  if (i.layers.size() < 2) bad("\"layers\" needs at least the input and output sizes");
  for (std::size_t s : i.layers)
    if (s == 0 || s > 1000000) bad("\"layers\" holds a size outside 1..1000000");
  if (i.activation != "relu" && i.activation != "tanh" && i.activation != "sigmoid" && i.activation != "leaky_relu") {
    bad("activation '" + i.activation + "' is not one of relu, tanh, sigmoid, leaky_relu");
  }
  if (!(i.dropout >= 0.0f && i.dropout < 1.0f)) bad("\"dropout\" must be in [0, 1)");
  if (i.head != "softmax_cross_entropy" && i.head != "sigmoid") {
    bad("head '" + i.head + "' is not one of softmax_cross_entropy, sigmoid");
  }
  if (i.head == "sigmoid" && (i.classes.size() != 2 || i.layers.back() != 1)) {
    bad("a sigmoid head has one output and two classes");
  }
  std::size_t inputs = 1;
  for (std::size_t s : i.input_shape) inputs = s && inputs <= 1000000 ? inputs * s : 0;
  if (i.input_shape.empty() || inputs != i.layers.front()) bad("\"input_shape\" does not match the first layer size");
  if (i.head != "sigmoid" && i.classes.size() != i.layers.back()) {
    bad(std::to_string(i.classes.size()) + " classes but the last layer has " + std::to_string(i.layers.back()) + " outputs");
  }
  // Images (input_shape [rows, cols]) have one mean and std; tables ([features]) one per feature.
  const std::size_t norm_values = i.input_shape.size() == 1 ? inputs : 1;
  if (i.mean.size() != norm_values || i.std.size() != norm_values) {
    bad("\"mean\" and \"std\" must hold " + std::to_string(norm_values) + " value" + (norm_values == 1 ? "" : "s") +
        " each for input_shape " + Json(i.input_shape).dump());
  }
  if (i.input_shape.size() > 2) bad("\"input_shape\" must be [rows, cols] (images) or [features] (tables)");
  if (!i.features.empty() && (i.input_shape.size() != 1 || i.features.size() != inputs)) {
    bad("\"features\" must name each of the " + std::to_string(inputs) + " inputs of a table model");
  }
  for (std::size_t k = 0; k < i.mean.size(); ++k) {
    if (!std::isfinite(i.mean[k]) || !(i.std[k] > 0.0f) || !std::isfinite(i.std[k])) bad("\"mean\"/\"std\" must be finite with std > 0");
  }
  return i;
}

std::string encode_model(const Sequential& model, const ModelInfo& info) {
  std::vector<std::pair<std::string, Tensor>> named = model.named_parameters();
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, t] : named) tensors.emplace_back(name, &t.value());
  return encode_safetensors(tensors, {{"xgrad", model_info_json(info).dump()}, {"format", "pt"}});
}

void save_model(const std::string& path, const Sequential& model, const ModelInfo& info) {
  write_file_atomically(path, encode_model(model, info));
}

void load_weights(Sequential& model, const Safetensors& file, const std::string& source) {
  std::vector<std::pair<std::string, Tensor>> named = model.named_parameters();
  for (auto& [name, parameter] : named) {
    const Array* stored = file.find(name);
    if (!stored) throw InputError(source + ": tensor '" + name + "' is missing; the model needs it with shape " + shape_string(parameter.value()));
    if (!std::equal(stored->shape().begin(), stored->shape().end(), parameter.value().shape().begin(),
                    parameter.value().shape().end())) {
      throw InputError(source + ": tensor '" + name + "' has shape " + shape_string(*stored) + " but the model's " +
                       name + " has shape " + shape_string(parameter.value()) + " (a different architecture)");
    }
    for (std::size_t k = 0; k < stored->size(); ++k) {
      if (!std::isfinite(stored->data()[k])) throw InputError(source + ": tensor '" + name + "' holds a NaN or infinite value");
    }
  }
  for (const auto& [name, array] : file.tensors) {
    bool known = false;
    for (const auto& [n, p] : named) known = known || n == name;
    if (!known) throw InputError(source + ": unexpected tensor '" + name + "' (shape " + shape_string(array) + "); the model has no such parameter");
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
  const Safetensors file = read_safetensors(path);
  auto it = file.metadata.find("xgrad");
  if (it == file.metadata.end()) {
    throw InputError(path + ": no \"xgrad\" entry in __metadata__; only checkpoints written by xgrad train --save can be loaded");
  }
  Json doc = Json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw InputError(path + ": the \"xgrad\" metadata is not valid JSON");
  LoadedModel loaded;
  loaded.path = path;
  loaded.info = model_info_from_json(doc, path);
  Rng rng(loaded.info.seed);  // the weights are overwritten by the file's
  loaded.model = make_mlp(mlp_spec(loaded.info), rng);
  load_weights(*loaded.model, file, path);
  loaded.model->eval();
  return loaded;
}

}  // namespace xg
