#include "train/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sys/stat.h>
#include <system_error>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_input.hpp"
#include "io/number_text.hpp"
#include "io/sha256.hpp"
#include "layers/architecture.hpp"
#include "layers/linear.hpp"
#include "train/experiment.hpp"

namespace xg {

using Json = nlohmann::json;

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
std::string previous_state_path(const std::string& model_path) { return state_path(model_path) + ".prev"; }

namespace {

bool file_exists(const std::string& path) {
  struct stat s;
  return ::stat(path.c_str(), &s) == 0;
}

// SHA-256 of a file's bytes, read in blocks ("" when it cannot be read).
std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  Sha256 sha;
  std::vector<char> block(1 << 16);
  while (in.read(block.data(), std::streamsize(block.size())) || in.gcount() > 0)
    sha.update(reinterpret_cast<const std::uint8_t*>(block.data()), std::size_t(in.gcount()));
  return in.bad() ? "" : sha.hex();
}

// The "model_sha256" a state file records: "" when it records none (an older
// xgrad), "?" when it cannot be read.
std::string recorded_model_sha256(const std::string& state) {
  try {
    const SafetensorsHeader header = read_safetensors_header(state);  // the metadata, not the tensors
    const auto it = header.metadata.find("model_sha256");
    return it == header.metadata.end() ? "" : it->second;
  } catch (const InputError&) {
    return "?";
  }
}

// Whether `state` belongs to the model file whose SHA-256 is `model_sha256`
// (a state recording none is taken to).
bool state_fits(const std::string& state, const std::string& model_sha256) {
  if (!file_exists(state)) return false;
  const std::string recorded = recorded_model_sha256(state);
  return recorded.empty() || recorded == model_sha256;
}

}  // namespace

std::string matching_state_path(const std::string& model_path) {
  const std::string state = state_path(model_path), previous = previous_state_path(model_path);
  if (!file_exists(previous)) return state;  // the last save finished
  const std::string model_sha256 = file_sha256(model_path);
  if (!state_fits(state, model_sha256) && state_fits(previous, model_sha256)) return previous;
  return state;
}

TrainConfig resume_config(const std::string& path, const TrainConfig& command_line,
                          const std::vector<std::string>& given_flags) {
  const LoadedModel loaded = load_model(path);
  TrainConfig c = config_from_json(loaded.info.config, command_line, path, given_flags);
  bool epochs_given = false;
  for (const std::string& f : given_flags) epochs_given = epochs_given || f == "--epochs";
  if (!epochs_given) c.epochs = JsonFields(loaded.info.config, path + ": xgrad metadata config").count("epochs", 1000000, c.epochs);
  // The run is built from the config before the weights are loaded: the model it
  // describes must be the file's (its tensors were checked against the metadata).
  if (c.arch != "mlp" || loaded.info.arch != "mlp") {
    const std::string arch = c.arch == "mlp" ? c.arch : architecture_text(parse_architecture(c.arch, "--arch"));
    if (arch != loaded.info.arch) {
      throw InputError(path + ": xgrad metadata config (--arch " + c.arch.substr(0, 80) +
                       ") does not describe the model its layers hold (" + loaded.info.arch.substr(0, 80) + ")");
    }
    return c;
  }
  const std::vector<std::size_t> hidden = parse_size_list("--hidden", c.hidden);
  const std::vector<std::size_t> stored(loaded.info.layers.begin() + 1, loaded.info.layers.end() - 1);
  if (hidden != stored || c.activation != loaded.info.activation || float(c.dropout) != loaded.info.dropout) {
    throw InputError(path + ": xgrad metadata config (--hidden " + c.hidden + ", --activation " + c.activation + ", --dropout " +
                     format_number(c.dropout) + ") does not describe the model its layers hold (" +
                     nlohmann::json(loaded.info.layers).dump() + ", " + loaded.info.activation + ", " +
                     format_number(loaded.info.dropout) + ")");
  }
  return c;
}

std::string describe_model_file(const std::string& path) {
  try {
    const ModelInfo info = load_model(path).info;
    std::string text = "a model of " + std::to_string(info.epoch) + " epoch" + (info.epoch == 1 ? "" : "s");
    for (const char* key : {"test_acc", "val_acc"})
      if (info.evaluation.contains(key) && info.evaluation[key].is_number())
        text += std::string(", ") + key + " " + format_fixed(info.evaluation[key].get<double>(), 4);
    return text;
  } catch (const std::exception& e) {
    return std::string("a file that is not an xgrad model (") + e.what() + ")";
  }
}

Checkpointer::Checkpointer(const CheckpointPaths& o, Experiment& run)
    : paths_(o), run_(run), best_loss_(std::numeric_limits<double>::infinity()) {
  if (!o.save.empty()) {
    check_writable(o.save);
    check_writable(state_path(o.save));
  }
  if (!o.save_best.empty()) check_writable(o.save_best);
  for (const std::string& path : {o.save, o.save_best}) {
    std::error_code error;
    if (path.empty() || path == o.resume || !std::filesystem::is_regular_file(path, error)) continue;
    if (!replaced_.empty() && replaced_.front().path == path) continue;  // --save-best the same as --save
    replaced_.push_back({path, path + ".bak", describe_model_file(path), false});
  }
  if (o.save.empty() && o.save_best.empty() && o.resume.empty()) return;
  data_sha256_ = data_sha256(run.data().train);
  if (o.resume.empty()) return;

  const LoadedModel loaded = load_model(o.resume);  // header, metadata and shapes checked before any tensor is read
  if (!loaded.info.data_sha256.empty() && loaded.info.data_sha256 != data_sha256_) {
    throw InputError("--resume " + o.resume + ": the training data differs from the checkpoint's (sha256 " +
                     loaded.info.data_sha256.substr(0, 12) + "… vs " + data_sha256_.substr(0, 12) + "…)");
  }
  load_weights(run.model(), read_safetensors(o.resume), o.resume);
  read_state(matching_state_path(o.resume), loaded.info.epoch);  // PATH.state, or the previous one if a save was cut off
}

void Checkpointer::read_state(const std::string& sp, std::size_t model_epoch) {
  const SafetensorsHeader header = read_safetensors_header(sp);
  const auto recorded_sha256 = header.metadata.find("model_sha256");
  if (recorded_sha256 != header.metadata.end() && recorded_sha256->second != file_sha256(paths_.resume)) {
    throw InputError(sp + ": is the training state of another model file than " + paths_.resume +
                     " (its model_sha256 differs: a save was interrupted, or the files come from different runs)");
  }
  // Before any tensor is read: optimizer state only, and no more of it than an
  // optimizer keeps (Adam with amsgrad: three values per weight, and its step).
  std::uint64_t weights = 0, stored = 0;
  for (const Tensor& p : run_.optimizer().parameters()) weights += p.size();
  for (const SafetensorsEntry& e : header.tensors) {
    if (e.name.rfind("optimizer.", 0) != 0) throw InputError(sp + ": unexpected tensor '" + e.name + "'");
    stored += (e.end - e.begin) / 4;
  }
  if (stored > 3 * weights + 2) {
    throw InputError(sp + ": holds " + std::to_string(stored) + " values of optimizer state, more than the " +
                     std::to_string(3 * weights + 2) + " an optimizer keeps for this model's " + std::to_string(weights) + " weights");
  }
  auto it = header.metadata.find("xgrad_state");
  if (it == header.metadata.end()) throw InputError(sp + ": no \"xgrad_state\" metadata (epoch, losses) in __metadata__");
  const TrainingState saved = training_state_from_text(it->second, sp);
  epoch_ = saved.epoch;
  if (epoch_ != model_epoch) {
    throw InputError(sp + ": holds the state after epoch " + std::to_string(epoch_) + " but " + paths_.resume +
                     " is the model after epoch " + std::to_string(model_epoch) + " (a save was interrupted)");
  }
  if (epoch_ >= run_.config().epochs) {
    throw InputError("--resume " + paths_.resume + ": the checkpoint has trained " + std::to_string(epoch_) +
                     " epochs already; pass --epochs with more than that to continue");
  }
  if (saved.has_best_loss) best_loss_ = saved.best_test_loss;
  metrics_text_ = saved.metrics;
  if (saved.has_losses) {
    losses_ = saved.monitored_losses;
    run_.restore_history(losses_);  // the schedule (plateau too) and early stopping continue where they were
  }
  const Safetensors state = read_safetensors(sp, header);
  Optimizer::State optimizer_state;
  for (const auto& [name, array] : state.tensors) optimizer_state.emplace_back(name.substr(10), array);
  try {
    run_.optimizer().load_state(optimizer_state);
  } catch (const InputError& e) {
    throw InputError(sp + ": " + e.what());
  }
}

ModelInfo Checkpointer::info_for(std::size_t epoch) const {
  ModelInfo i;
  const Dataset& data = run_.data();
  const TrainConfig& config = run_.config();
  for (const auto& [name, child] : run_.model().children()) {
    if (const auto* linear = dynamic_cast<const Linear*>(child.get())) {
      if (i.layers.empty()) i.layers.push_back(linear->in_features());
      i.layers.push_back(linear->out_features());
    }
  }
  if (config.arch != "mlp") {
    i.arch = architecture_text(parse_architecture(config.arch, "--arch"));
    i.layers = {data.train.features(), i.layers.back()};
    i.input_chw = network_input(data.train.shape);
  }
  i.activation = config.activation;
  i.dropout = float(config.dropout);
  i.head = config.head == "sigmoid" ? "sigmoid" : "softmax_cross_entropy";
  i.input_shape = data.train.shape;
  i.features = data.feature_names;
  i.mean = run_.normalization().mean;
  i.std = run_.normalization().std;
  i.classes = data.class_names;
  i.config = config_json(config);
  i.seed = config.seed;
  i.version = kXgradVersion;
  i.data_sha256 = data_sha256_;
  i.epoch = epoch;
  const std::string held_out = run_.has_validation() ? "val" : "test";
  i.evaluation = {{held_out + "_loss", run_.last_evaluation().loss}, {held_out + "_acc", run_.last_evaluation().accuracy()}};
  if (!std::isfinite(run_.last_evaluation().loss)) i.evaluation.erase(held_out + "_loss");
  return i;
}

void Checkpointer::keep_earlier(const std::string& path) {
  // A copy, not a rename: until this run's first save has replaced it
  // (atomically), the earlier file stays where it was too.
  auto copy = [](const std::string& from, const std::string& to) {
    std::error_code error;
    const std::string temporary = to + ".tmp";
    std::filesystem::copy_file(from, temporary, std::filesystem::copy_options::overwrite_existing, error);
    if (!error) std::filesystem::rename(temporary, to, error);
    if (error) {
      std::filesystem::remove(temporary, error);
      throw InputError("cannot keep the earlier " + from + " as " + to + ": " + error.message());
    }
  };
  for (ReplacedModel& r : replaced_) {
    if (r.path != path || r.moved) continue;
    copy(r.path, r.backup);
    std::error_code error;
    if (std::filesystem::is_regular_file(state_path(r.path), error)) copy(state_path(r.path), state_path(r.backup));
    else std::filesystem::remove(state_path(r.backup), error);  // no stale state beside the backup
    r.moved = true;
  }
}

void Checkpointer::after_epoch(std::size_t epoch, double monitored_loss, const std::string& metrics_text) {
  const bool best = monitored_loss < best_loss_;
  if (best) best_loss_ = monitored_loss;
  losses_.push_back(monitored_loss);
  if (!paths_.save.empty()) {
    // One consistent pair is always on disk. The state records the SHA-256 of
    // the model file it belongs to, and is written first; the state that fits
    // the model on disk stays, as PATH.state.prev, until the new model is in
    // place. A crash or a second Ctrl-C between the writes leaves the model of
    // the epoch before with its state in PATH.state.prev, where --resume finds
    // it (matching_state_path). A model of another run at PATH is first
    // copied, with its state, to PATH.bak (keep_earlier).
    keep_earlier(paths_.save);
    const std::string model_bytes = encode_model(run_.model(), info_for(epoch));
    const std::string state = state_path(paths_.save), previous = previous_state_path(paths_.save);
    if (!file_exists(previous) || state_fits(state, file_sha256(paths_.save))) {
      std::rename(state.c_str(), previous.c_str());  // nothing to keep on the first save
    }  // else the last save was cut off before its model: PATH.state.prev is the one that fits
    Optimizer::State optimizer_state = run_.optimizer().state();
    std::vector<std::pair<std::string, const Array*>> tensors;
    std::vector<std::string> names;
    for (const auto& [name, array] : optimizer_state) names.push_back("optimizer." + name);
    for (std::size_t k = 0; k < optimizer_state.size(); ++k) tensors.emplace_back(names[k], &optimizer_state[k].second);
    Json doc = {{"epoch", epoch}, {"metrics", metrics_text}, {"seed", run_.config().seed}, {"monitored_losses", losses_}};
    if (std::isfinite(best_loss_)) doc["best_test_loss"] = best_loss_;
    write_safetensors(state, tensors, {{"xgrad_state", doc.dump()}, {"model_sha256", sha256_hex(
        reinterpret_cast<const std::uint8_t*>(model_bytes.data()), model_bytes.size())}});
    write_file_atomically(paths_.save, model_bytes);
    std::remove(previous.c_str());
  }
  if (best && !paths_.save_best.empty()) {
    keep_earlier(paths_.save_best);
    save_model(paths_.save_best, run_.model(), info_for(epoch));
    best_epoch_ = epoch;
  }
}

}  // namespace xg
