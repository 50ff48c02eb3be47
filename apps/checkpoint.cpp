#include "apps/checkpoint.hpp"

#include "apps/toolbox.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "apps/experiment.hpp"
#include "datasets/csv.hpp"
#include "datasets/dataloader.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "layers/linear.hpp"

namespace xg {
namespace {

using Json = nlohmann::json;

const char* const kVersion = "0.1.0";

// ---- SHA-256 (FIPS 180-4), small and unoptimised: it hashes a data set once per run.
struct Sha256 {
  std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint8_t block[64];
  std::size_t used = 0;
  std::uint64_t bits = 0;

  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void compress() {
    static const std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = std::uint32_t(block[4 * i]) << 24 | std::uint32_t(block[4 * i + 1]) << 16 | std::uint32_t(block[4 * i + 2]) << 8 | block[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  void update(const std::uint8_t* data, std::size_t size) {
    bits += std::uint64_t(size) * 8;
    for (std::size_t i = 0; i < size; ++i) {
      block[used++] = data[i];
      if (used == 64) { compress(); used = 0; }
    }
  }
  std::string hex() {
    const std::uint64_t total = bits;
    const std::uint8_t one = 0x80, zero = 0;
    update(&one, 1);
    while (used != 56) update(&zero, 1);
    for (int i = 7; i >= 0; --i) { block[used++] = std::uint8_t(total >> (8 * i)); }
    compress();
    char out[65];
    for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
    return out;
  }
};

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

Json options_json(const TrainOptions& o) {
  Json config = {{"epochs", o.epochs}};
  for_each_training_flag(o, [&](const char*, const char* key, const auto& field) { config[key] = field; });
  return config;
}

// The training options a checkpoint's config records, over `base`. A flag the
// config lacks (a checkpoint of an older xgrad) keeps base's value. With
// `command_line`, a flag given there must equal the checkpoint's.
TrainOptions options_from_config(const Json& config, const TrainOptions& base, const std::string& source,
                                 const TrainOptions* command_line = nullptr) {
  if (!config.is_object()) throw InputError(source + ": xgrad metadata \"config\" is not an object");
  TrainOptions o = base;
  for_each_training_flag(o, [&](const char* flag, const char* key, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if (!config.contains(key)) return;
    T stored;
    try {
      stored = config.at(key).get<T>();
    } catch (const Json::exception&) {
      throw InputError(source + ": xgrad metadata config \"" + std::string(key) + "\" has the wrong type");
    }
    if (command_line && command_line->was_given(flag) && !(field == stored)) {
      throw InputError(std::string(flag) + " differs from the checkpoint " + source + " (" + Json(field).dump() + " vs " +
                       Json(stored).dump() + "); a resumed run keeps its training flags, only --epochs may change");
    }
    field = stored;
  });
  return o;
}

std::string state_source(const std::string& path) { return state_path(path); }

}  // namespace

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  Sha256 s;
  s.update(data, size);
  return s.hex();
}

std::string data_sha256(const Split& train) {
  Sha256 s;
  s.update(train.pixels.data(), train.pixels.size());
  s.update(reinterpret_cast<const std::uint8_t*>(train.values.data()), train.values.size() * sizeof(float));
  for (std::uint32_t label : train.labels) {
    const std::uint8_t bytes[4] = {std::uint8_t(label), std::uint8_t(label >> 8), std::uint8_t(label >> 16), std::uint8_t(label >> 24)};
    s.update(bytes, 4);
  }
  return s.hex();
}

std::string state_path(const std::string& model_path) { return model_path + ".state"; }

Json model_info_json(const ModelInfo& i) {
  Json doc = {{"layers", i.layers},   {"activation", i.activation}, {"dropout", i.dropout},
          {"head", i.head},       {"input_shape", i.input_shape},
          {"mean", i.mean},       {"std", i.std},               {"classes", i.classes}, {"config", i.config},
          {"seed", i.seed},       {"version", i.version},       {"data_sha256", i.data_sha256},
          {"epoch", i.epoch}};
  if (!i.features.empty()) doc["features"] = i.features;
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

Normalization LoadedModel::normalization() const { return Normalization{info.mean, info.std}; }

void save_model(const std::string& path, const Sequential& model, const ModelInfo& info) {
  std::vector<std::pair<std::string, Tensor>> named = model.named_parameters();
  std::vector<std::pair<std::string, const Array*>> tensors;
  for (const auto& [name, t] : named) tensors.emplace_back(name, &t.value());
  write_safetensors(path, tensors, {{"xgrad", model_info_json(info).dump()}, {"format", "pt"}});
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

namespace {
// The architecture `xgrad train` built for these settings (apps/toolbox.cpp
// build_model), so that module positions, and so tensor names, match.
std::shared_ptr<Sequential> rebuild_model(const ModelInfo& info) {
  TrainOptions o;
  o.hidden.clear();
  for (std::size_t k = 1; k + 1 < info.layers.size(); ++k) o.hidden += (k > 1 ? "," : "") + std::to_string(info.layers[k]);
  o.activation = info.activation;
  o.dropout = info.dropout;
  o.head = info.head == "sigmoid" ? "sigmoid" : "softmax";
  o.seed = info.seed;
  Rng rng(info.seed);
  return build_model(o, info.layers.front(), info.classes.size(), rng);
}
}  // namespace

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
  loaded.model = rebuild_model(loaded.info);
  load_weights(*loaded.model, file, path);
  loaded.model->eval();
  return loaded;
}

TrainOptions LoadedModel::training_options() const { return options_from_config(info.config, TrainOptions{}, path); }

bool LoadedModel::takes_tables() const { return info.input_shape.size() == 1; }

Dataset load_data_for_model(const LoadedModel& model, const std::string& data_flag) {
  TrainOptions o = model.training_options();
  o.test_limit = 0;  // the whole test split
  o.classes.clear();  // the model's names are set below
  if (!data_flag.empty()) o.data = data_flag;
  const std::string which = data_flag.empty() ? "the training data " + o.data : "--data " + o.data;
  if (model.takes_tables() != is_csv_path(o.data)) {
    throw InputError(which + ": the model " + model.path + " was trained on " +
                     (model.takes_tables() ? "CSV data; give a .csv file" : "images; give an image directory"));
  }
  Dataset data;
  if (model.takes_tables() && !data_flag.empty()) {
    // A CSV file to evaluate: every row is a test item, its label one of the model's classes.
    CsvOptions csv;
    csv.label_column = o.label_col;
    csv.test_split = 0.0;
    csv.classes = model.info.classes;
    csv.features = model.info.features;
    data = load_csv_dataset(o.data, csv);
    std::swap(data.train, data.test);  // all rows are test rows
  } else {
    // The data as training saw it: the same file or directory, split, classes subset and limits.
    data = prepare_training_data(o);
    if (model.takes_tables() && !model.info.data_sha256.empty() && data_sha256(data.train) != model.info.data_sha256) {
      throw InputError(which + " has changed since " + model.path + " was trained (its training split's sha256 differs), so "
                       "its test split is no longer held-out data; pass --data FILE.csv to evaluate a file as a whole");
    }
  }
  const std::size_t features = model.info.layers.front();
  if (data.test.features() != features) {
    throw InputError(which + ": items are " + data.test.item_description() + " but the model takes " +
                     std::to_string(features) + " inputs (" +
                     shape_string(Shape(model.info.input_shape.begin(), model.info.input_shape.end())) + ")");
  }
  for (std::uint32_t label : data.test.labels) {
    if (label >= model.info.classes.size()) {
      throw InputError(which + ": test label " + std::to_string(label) + " is not one of the model's " +
                       std::to_string(model.info.classes.size()) + " classes");
    }
  }
  data.class_names = model.info.classes;
  return data;
}

Array model_logits(LoadedModel& model, const Split& items) {
  NoGradGuard no_grad;
  model.model->eval();
  const std::size_t outputs = model.info.layers.back();
  const bool sigmoid = model.info.head == "sigmoid";  // one output z for class 1
  const std::size_t classes = sigmoid ? 2 : outputs;
  Array logits = xt::zeros<float>({items.count, classes});
  DataLoader loader(items, 1000, /*shuffle=*/false, 0, model.normalization());
  Array x;
  std::vector<std::uint32_t> y;
  for (std::size_t i = 0, first = 0; i < loader.num_batches(); ++i) {
    const std::size_t b = loader.batch(i, x, y);
    Tensor out = (*model.model)(Tensor(x));
    for (std::size_t r = 0; r < b; ++r) {
      float* row = logits.data() + (first + r) * classes;
      if (sigmoid) row[1] = out.data()[r];  // (0, z)
      else std::memcpy(row, out.data() + r * outputs, outputs * sizeof(float));
    }
    first += b;
  }
  return logits;
}

TrainOptions resume_options(const TrainOptions& cli) {
  if (cli.resume.empty()) return cli;
  const LoadedModel loaded = load_model(cli.resume);
  const Json& c = loaded.info.config;
  TrainOptions o = options_from_config(c, cli, cli.resume, &cli);
  if (!cli.was_given("--epochs")) o.epochs = c.value("epochs", cli.epochs);
  return o;
}

Checkpointer::Checkpointer(const TrainOptions& o, Experiment& run)
    : options_(o), run_(run), best_loss_(std::numeric_limits<double>::infinity()) {
  if (!o.save.empty()) {
    check_writable(o.save);
    check_writable(state_path(o.save));
  }
  if (!o.save_best.empty()) check_writable(o.save_best);
  if (o.save.empty() && o.save_best.empty() && o.resume.empty()) return;
  data_sha256_ = data_sha256(run.data().train);
  if (o.resume.empty()) return;

  const Safetensors model_file = read_safetensors(o.resume);
  const LoadedModel loaded = load_model(o.resume);
  if (!loaded.info.data_sha256.empty() && loaded.info.data_sha256 != data_sha256_) {
    throw InputError("--resume " + o.resume + ": the training data differs from the checkpoint's (sha256 " +
                     loaded.info.data_sha256.substr(0, 12) + "… vs " + data_sha256_.substr(0, 12) + "…)");
  }
  load_weights(run.model(), model_file, o.resume);

  const std::string sp = state_source(o.resume);
  const Safetensors state = read_safetensors(sp);
  auto it = state.metadata.find("xgrad_state");
  Json doc = it == state.metadata.end() ? Json() : Json::parse(it->second, nullptr, false);
  if (!doc.is_object() || !doc.contains("epoch") || !doc["epoch"].is_number_unsigned()) {
    throw InputError(sp + ": no valid \"xgrad_state\" metadata (epoch, optimizer) in __metadata__");
  }
  epoch_ = doc["epoch"].get<std::size_t>();
  if (epoch_ != loaded.info.epoch) {
    throw InputError(sp + ": holds the state after epoch " + std::to_string(epoch_) + " but " + o.resume +
                     " is the model after epoch " + std::to_string(loaded.info.epoch) + " (a save was interrupted)");
  }
  if (epoch_ >= o.epochs) {
    throw InputError("--resume " + o.resume + ": the checkpoint has trained " + std::to_string(epoch_) +
                     " epochs already; pass --epochs with more than that to continue");
  }
  if (doc.value("best_test_loss", Json()).is_number()) best_loss_ = doc["best_test_loss"].get<double>();
  metrics_text_ = doc.value("metrics", std::string());
  if (doc.contains("monitored_losses")) {
    const Json& losses = doc["monitored_losses"];
    if (!losses.is_array() || losses.size() != epoch_) {
      throw InputError(sp + ": \"monitored_losses\" must hold one loss per finished epoch (" + std::to_string(epoch_) + ")");
    }
    for (const Json& loss : losses) {
      if (!loss.is_number()) throw InputError(sp + ": \"monitored_losses\" holds a value that is not a number");
      losses_.push_back(loss.get<double>());
    }
    run.restore_history(losses_);  // the schedule (plateau too) and early stopping continue where they were
  }
  Optimizer::State optimizer_state;
  for (const auto& [name, array] : state.tensors) {
    if (name.rfind("optimizer.", 0) != 0) throw InputError(sp + ": unexpected tensor '" + name + "'");
    optimizer_state.emplace_back(name.substr(10), array);
  }
  try {
    run.optimizer().load_state(optimizer_state);
  } catch (const InputError& e) {
    throw InputError(sp + ": " + e.what());
  }
  std::printf("resume %s: %zu epoch%s done, continuing with epoch %zu of %zu\n", o.resume.c_str(), epoch_,
              epoch_ == 1 ? "" : "s", epoch_ + 1, o.epochs);
}

ModelInfo Checkpointer::info_for(std::size_t epoch) const {
  ModelInfo i;
  const Dataset& data = run_.data();
  for (const auto& [name, child] : run_.model().children()) {
    if (const auto* linear = dynamic_cast<const Linear*>(child.get())) {
      if (i.layers.empty()) i.layers.push_back(linear->in_features());
      i.layers.push_back(linear->out_features());
    }
  }
  i.activation = options_.activation;
  i.dropout = float(options_.dropout);
  i.head = options_.head == "sigmoid" ? "sigmoid" : "softmax_cross_entropy";
  i.input_shape = data.train.shape;
  i.features = data.feature_names;
  i.mean = run_.normalization().mean;
  i.std = run_.normalization().std;
  i.classes = data.class_names;
  i.config = options_json(options_);
  i.seed = options_.seed;
  i.version = kVersion;
  i.data_sha256 = data_sha256_;
  i.epoch = epoch;
  return i;
}

void Checkpointer::after_epoch(std::size_t epoch, double test_loss, const std::string& metrics_text) {
  const bool best = test_loss < best_loss_;
  if (best) best_loss_ = test_loss;
  losses_.push_back(test_loss);
  if (!options_.save.empty()) {
    // The state first: a crash between the two writes leaves a model and a
    // state of different epochs, which --resume detects and refuses.
    Optimizer::State optimizer_state = run_.optimizer().state();
    std::vector<std::pair<std::string, const Array*>> tensors;
    std::vector<std::string> names;
    for (const auto& [name, array] : optimizer_state) names.push_back("optimizer." + name);
    for (std::size_t k = 0; k < optimizer_state.size(); ++k) tensors.emplace_back(names[k], &optimizer_state[k].second);
    Json doc = {{"epoch", epoch}, {"metrics", metrics_text}, {"seed", options_.seed}, {"monitored_losses", losses_}};
    if (std::isfinite(best_loss_)) doc["best_test_loss"] = best_loss_;
    write_safetensors(state_path(options_.save), tensors, {{"xgrad_state", doc.dump()}});
    save_model(options_.save, run_.model(), info_for(epoch));
  }
  if (best && !options_.save_best.empty()) save_model(options_.save_best, run_.model(), info_for(epoch));
}

}  // namespace xg
