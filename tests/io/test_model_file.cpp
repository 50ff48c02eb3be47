// io/model_file: the "xgrad" metadata round-trips; a saved model loads back
// with its architecture (activation, dropout, head) and bit-identical outputs;
// a file that is no usable model is refused naming the tensor or the field.
// (PyTorch loading the same files: tests/oracles/model_file.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/random.hpp"
#include "io/model_file.hpp"
#include "io/safetensors.hpp"
#include "layers/architecture.hpp"
#include "layers/sequential.hpp"
#include "tests/support/files.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

// A table model's metadata that passes every check: 3 features, 2 hidden units, 2 classes.
ModelInfo table_info() {
  ModelInfo info;
  info.layers = {3, 2, 2};
  info.activation = "tanh";
  info.dropout = 0.25f;
  info.input_shape = {3};
  info.features = {"height", "weight", "age"};
  info.mean = {1.0f, 2.0f, 3.0f};
  info.std = {0.5f, 1.5f, 2.5f};
  info.classes = {"no", "yes"};
  info.config = {{"hidden", "2"}, {"lr", 0.1}};
  info.seed = 42;
  info.version = kXgradVersion;
  info.data_sha256 = std::string(64, 'a');
  info.epoch = 3;
  return info;
}

}  // namespace

TEST_CASE("model file: model_info_json and model_info_from_json round-trip every field") {
  const ModelInfo info = table_info();
  const ModelInfo back = model_info_from_json(model_info_json(info), "m.safetensors");
  CHECK(back.layers == info.layers);
  CHECK(back.activation == info.activation);
  CHECK(back.dropout == info.dropout);
  CHECK(back.head == info.head);
  CHECK(back.input_shape == info.input_shape);
  CHECK(back.features == info.features);
  CHECK(back.mean == info.mean);
  CHECK(back.std == info.std);
  CHECK(back.classes == info.classes);
  CHECK(back.config == info.config);
  CHECK(back.seed == info.seed);
  CHECK(back.version == info.version);
  CHECK(back.data_sha256 == info.data_sha256);
  CHECK(back.epoch == info.epoch);
  const MlpSpec spec = mlp_spec(back);
  CHECK(spec.sizes == info.layers);
  CHECK(spec.activation == "tanh");
  CHECK(spec.dropout == 0.25f);
  CHECK(spec.dropout_seed == 42);
}

TEST_CASE("model file: metadata that cannot describe a model is refused naming the source and the field") {
  const nlohmann::json good = model_info_json(table_info());
  const std::pair<const char*, nlohmann::json> bad[] = {
      {"layers", nlohmann::json::array({3})},
      {"layers", "3,2,2"},
      {"activation", "swish"},
      {"dropout", 1.5},
      {"head", "softmax"},
      {"head", "sigmoid"},  // with two outputs
      {"input_shape", nlohmann::json::array({4})},
      {"mean", nlohmann::json::array({0.0})},
      {"std", nlohmann::json::array({1.0, 0.0, 1.0})},
      {"features", nlohmann::json::array({"a", "b"})},
      {"classes", nlohmann::json::array({"a", "b", "c"})},
      {"seed", "x"},
      // Wrong types, which nlohmann would report as a type_error:
      {"dropout", "0.1"},
      {"epoch", "2"},
      {"epoch", -1},
      {"epoch", 2.5},
      {"data_sha256", 12345},
      {"data_sha256", "not a hash"},
      {"classes", nlohmann::json::array({0, 1})},
      {"features", nlohmann::json::array({1, 2, 3})},
      {"config", "lr 0.1"},
      {"version", 1},
      // Numbers that make no sense: a std that divides by ~0.
      {"std", nlohmann::json::array({0.5, 1e-45, 2.5})},
      {"mean", nlohmann::json::array({1.0, 1e39, 3.0})},
  };
  for (const auto& [field, value] : bad) {
    nlohmann::json doc = good;
    doc[field] = value;
    CAPTURE(doc.dump());
    try {
      model_info_from_json(doc, "m.safetensors");
      FAIL("expected an InputError");
    } catch (const InputError& e) {
      const std::string m = e.what();
      CHECK(m.rfind("m.safetensors: ", 0) == 0);
      CHECK(m.find(field) != std::string::npos);
    }
  }
  nlohmann::json missing = good;
  missing.erase("classes");
  CHECK_THROWS_WITH_AS(model_info_from_json(missing, "m.safetensors"), "m.safetensors: xgrad metadata has no field \"classes\"",
                       InputError);
  CHECK_THROWS_AS(model_info_from_json(nlohmann::json::array(), "m.safetensors"), InputError);
}

TEST_CASE("model file: an image model's mean must lie between 0 and 1 and its std above 0 and at most 1, as those of x/255 do") {
  ModelInfo info = table_info();
  info.layers = {4, 2, 2};
  info.input_shape = {2, 2};
  info.features.clear();
  info.mean = {0.3f};
  info.std = {0.4f};
  nlohmann::json good = model_info_json(info);
  CHECK(model_info_from_json(good, "m.safetensors").mean == std::vector<float>{0.3f});
  const std::pair<const char*, double> bad[] = {{"mean", 3e38}, {"mean", -0.5}, {"mean", 1.5}, {"std", 1e-45}, {"std", 0.0}, {"std", 2.0}};
  for (const auto& [field, value] : bad) {
    nlohmann::json doc = good;
    doc[field] = {value};
    CAPTURE(doc.dump());
    const std::string expected = std::string("m.safetensors: xgrad metadata field \"") + field + "\" item 0";
    CHECK_THROWS_WITH_AS(model_info_from_json(doc, "m.safetensors"), doctest::Contains(expected.c_str()), InputError);
  }
}

TEST_CASE("model file: an image model has one mean and std per channel, and a wrong count names the file and the field") {
  ModelInfo info = table_info();
  info.layers = {48, 2, 2};
  info.input_shape = {3, 4, 4};
  info.features.clear();
  info.mean = {0.1f, 0.2f, 0.3f};
  info.std = {0.4f, 0.5f, 0.6f};
  const nlohmann::json rgb = model_info_json(info);
  const ModelInfo back = model_info_from_json(rgb, "m.safetensors");
  CHECK(back.mean == info.mean);
  CHECK(back.std == info.std);
  // A colour model of an older xgrad kept one value for every channel: read as that value per channel.
  nlohmann::json older = rgb;
  older["mean"] = {0.25};
  older["std"] = {0.5};
  CHECK(model_info_from_json(older, "m.safetensors").mean == std::vector<float>{0.25f, 0.25f, 0.25f});
  CHECK(model_info_from_json(older, "m.safetensors").std == std::vector<float>{0.5f, 0.5f, 0.5f});
  // Counts that fit no channel count are refused, naming the file and both fields.
  auto refused = [](const nlohmann::json& doc, const char* expected) {
    CAPTURE(doc.dump());
    CHECK_THROWS_WITH_AS(model_info_from_json(doc, "m.safetensors"), expected, InputError);
  };
  nlohmann::json two = rgb;
  two["mean"] = {0.1, 0.2};
  refused(two, "m.safetensors: xgrad metadata: \"mean\" and \"std\" must hold 3 values each (one per channel) for "
               "input_shape [3,4,4], not 2 and 3");
  nlohmann::json four = rgb;
  four["std"] = {0.4, 0.5, 0.6, 0.7};
  refused(four, "m.safetensors: xgrad metadata: \"mean\" and \"std\" must hold 3 values each (one per channel) for "
                "input_shape [3,4,4], not 3 and 4");
  // Grey models keep one value, whether their shape is [rows, cols] or [1, rows, cols].
  for (const nlohmann::json& shape : {nlohmann::json{1u, 4u, 4u}, nlohmann::json{4u, 4u}}) {
    nlohmann::json grey = rgb;
    grey["layers"] = {16u, 2u, 2u};
    grey["input_shape"] = shape;
    const std::string expected = "must hold 1 value each (one per channel) for input_shape " + shape.dump() + ", not 3 and 3";
    CHECK_THROWS_WITH_AS(model_info_from_json(grey, "m.safetensors"), doctest::Contains(expected.c_str()), InputError);
    grey["mean"] = {0.3};
    grey["std"] = {0.4};
    CHECK(model_info_from_json(grey, "m.safetensors").mean == std::vector<float>{0.3f});
  }
}

TEST_CASE("model file: save_model refuses a NaN or infinite weight (training stops before it saves one)") {
  TempDir dir;
  const ModelInfo info = table_info();
  Rng rng(7);
  auto model = make_mlp(mlp_spec(info), rng);
  model->named_parameters()[1].second.data()[0] = NAN;
  CHECK_THROWS_WITH_AS(save_model(dir.file("m.safetensors"), *model, info), doctest::Contains("'0.bias'"), std::logic_error);
  CHECK_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
}

TEST_CASE("model file: load_model checks the metadata's architecture against the header's shapes before reading a tensor") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const ModelInfo info = table_info();
  Rng rng(7);
  save_model(path, *make_mlp(mlp_spec(info), rng), info);
  // Metadata claiming a million hidden units over the small tensors: refused naming the first tensor
  // (the CLI runs the same under an address-space cap: tests/apps/test_eval_command.cpp).
  Safetensors file = read_safetensors(path);
  nlohmann::json doc = nlohmann::json::parse(file.metadata.at("xgrad"));
  doc["layers"] = {3, 1000000, 2};
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : file.tensors) tensors.emplace_back(name, &array);
  write_safetensors(path, tensors, {{"xgrad", doc.dump()}});
  CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("'0.weight' has shape (2, 3) but the model's 0.weight has shape (1000000, 3)"),
                       InputError);
  // Metadata nested 300,000 levels deep: refused before it is parsed.
  write_safetensors(path, tensors, {{"xgrad", std::string(300000, '[') + std::string(300000, ']')}});
  CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("xgrad metadata nests arrays or objects deeper than 64 levels"), InputError);
}

TEST_CASE("model file: save_model then load_model rebuilds the architecture with the same weights and outputs") {
  TempDir dir;
  const ModelInfo info = table_info();
  Rng rng(7);
  auto model = make_mlp(mlp_spec(info), rng);
  const std::string path = dir.file("m.safetensors");
  save_model(path, *model, info);

  const Safetensors file = read_safetensors(path);
  CHECK(file.metadata.at("format") == "pt");
  CHECK(nlohmann::json::parse(file.metadata.at("xgrad")) == model_info_json(info));
  LoadedModel loaded = load_model(path);
  CHECK(loaded.path == path);
  CHECK(loaded.takes_tables());
  CHECK_FALSE(loaded.sigmoid_head());
  CHECK(loaded.model->describe() == model->describe());
  CHECK_FALSE((*loaded.model)[0].is_training());  // loaded for use: eval mode, dropout off
  const auto a = model->named_parameters(), b = loaded.model->named_parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.value() == b[i].second.value());
  }
  model->eval();
  const Tensor x(Array{{0.5f, -1.0f, 2.0f}, {1.0f, 0.0f, -0.5f}});
  CHECK((*model)(x).value() == (*loaded.model)(x).value());
}

TEST_CASE("model file: loading into a different architecture names the tensor and both shapes") {
  TempDir dir;
  Rng rng(1);
  auto small = make_mlp({30, 8, 3}, rng);
  auto other = make_mlp({30, 9, 3}, rng);
  std::vector<std::pair<std::string, const Array*>> tensors;
  const auto named = small->named_parameters();
  for (const auto& [name, t] : named) tensors.emplace_back(name, &t.value());
  const Safetensors file = decode_safetensors(encode_safetensors(tensors, {}), "small.safetensors");
  try {
    load_weights(*other, file, "small.safetensors");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string m = e.what();
    CHECK(m.find("'0.weight'") != std::string::npos);
    CHECK(m.find("(8, 30)") != std::string::npos);
    CHECK(m.find("(9, 30)") != std::string::npos);
  }
}

TEST_CASE("model file: a well-formed safetensors file that is not a usable model names the tensor or the field") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  Array w = xt::zeros<float>({3, 4}), b = xt::zeros<float>({3});
  const nlohmann::json info = {{"layers", {4, 3}},       {"activation", "relu"}, {"head", "softmax_cross_entropy"},
                               {"input_shape", {2, 2}},  {"mean", {0.0}},        {"std", {1.0}},
                               {"classes", {"a", "b", "c"}}, {"seed", 0},        {"version", "0.1.0"}};
  auto refused = [&](const char* mention) {
    try {
      load_model(path);
      FAIL("expected an InputError");
    } catch (const InputError& e) {
      const std::string m = e.what();
      CHECK(m.find(path) != std::string::npos);
      CHECK(m.find(mention) != std::string::npos);
    }
  };
  write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
  CHECK(load_model(path).info.classes.size() == 3);  // the good file: the cases below each break one thing
  SUBCASE("no xgrad metadata") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {});
    refused("\"xgrad\"");
  }
  SUBCASE("metadata that is not JSON") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", "{"}});
    refused("not valid JSON");
  }
  SUBCASE("a missing tensor") {
    write_safetensors(path, {{"0.weight", &w}}, {{"xgrad", info.dump()}});
    refused("'0.bias'");
  }
  SUBCASE("an extra tensor") {
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}, {"2.weight", &w}}, {{"xgrad", info.dump()}});
    refused("'2.weight'");
  }
  SUBCASE("a NaN weight") {
    w(1, 1) = std::nanf("");
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", info.dump()}});
    refused("'0.weight'");
  }
  SUBCASE("a class count that does not fit the last layer") {
    nlohmann::json two = info;
    two["classes"] = {"a", "b"};
    write_safetensors(path, {{"0.weight", &w}, {"0.bias", &b}}, {{"xgrad", two.dump()}});
    refused("classes");
  }
}

TEST_CASE("model file: a network with bn saves and loads its running statistics and batch count (as I64)") {
  TempDir dir;
  ModelInfo info;
  info.arch = "conv3k3p1,bn,relu,flatten,fc";
  info.layers = {36, 2};
  info.input_chw = {1, 6, 6};
  info.input_shape = {6, 6};
  info.mean = {0.5f};
  info.std = {0.25f};
  info.classes = {"a", "b"};
  info.version = kXgradVersion;
  info.data_sha256 = std::string(64, 'a');
  const auto layers = parse_architecture(info.arch, "--arch");
  Rng rng(3);
  auto model = make_network(layers, {1, 6, 6}, 2, rng, "--arch");
  Rng data(4);
  Array x = Array::from_shape({5, 36});
  for (float& v : x) v = data.uniform(-2.0f, 2.0f);
  for (int step = 0; step < 3; ++step) (*model)(Tensor(x));  // training mode: the statistics move
  const std::string path = dir.file("bn.safetensors");
  save_model(path, *model, info);

  const SafetensorsHeader header = read_safetensors_header(path);
  REQUIRE(header.find("1.num_batches_tracked") != nullptr);
  CHECK(header.find("1.num_batches_tracked")->int64);
  CHECK(header.find("1.num_batches_tracked")->shape.empty());
  CHECK_FALSE(header.find("1.running_var")->int64);
  LoadedModel loaded = load_model(path);
  const auto a = model->named_state(), b = loaded.model->named_state();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.value() == b[i].second.value());
  }
  CHECK(b[6].first == "1.num_batches_tracked");
  CHECK(b[6].second.item() == 3.0f);
  model->eval();
  CHECK((*model)(Tensor(x)).value() == (*loaded.model)(Tensor(x)).value());

  // a file without the buffers is not the model: the missing one is named
  Safetensors file = read_safetensors(path);
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, array] : file.tensors)
    if (name != "1.running_mean") tensors.emplace_back(name, &array);
  write_safetensors(path, tensors, file.metadata);
  CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("tensor '1.running_mean' is missing"), InputError);
  // a negative variance is refused
  Array negative = *file.find("1.running_var");
  negative.data()[1] = -1.0f;
  tensors.clear();
  for (const auto& [name, array] : file.tensors) tensors.emplace_back(name, name == "1.running_var" ? &negative : &array);
  write_safetensors(path, tensors, file.metadata);
  CHECK_THROWS_WITH_AS(load_model(path), doctest::Contains("tensor '1.running_var' holds a negative variance"), InputError);
}
