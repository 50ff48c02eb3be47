#include "io/checkpoint_metadata.hpp"

#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "io/json_input.hpp"
#include "layers/architecture.hpp"

namespace xg {

const char* const kXgradVersion = "0.1.0";

namespace {

using Json = nlohmann::json;

// The largest magnitude of a CSV value (datasets/csv.cpp refuses larger ones),
// and the smallest std compute_normalization produces (it keeps 1 below 1e-12).
constexpr double kMaxTableValue = 3.0e38;
constexpr double kMinStd = 1e-13;

bool is_hex_digest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Json model_info_json(const ModelInfo& i) {
  Json doc = {{"layers", i.layers},   {"activation", i.activation}, {"dropout", i.dropout},
          {"head", i.head},       {"input_shape", i.input_shape},
          {"mean", i.mean},       {"std", i.std},               {"classes", i.classes}, {"config", i.config},
          {"seed", i.seed},       {"version", i.version},       {"data_sha256", i.data_sha256},
          {"epoch", i.epoch}};
  if (!i.features.empty()) doc["features"] = i.features;
  if (i.arch != "mlp") doc["arch"] = i.arch, doc["input_chw"] = i.input_chw;
  if (!i.evaluation.empty()) doc["evaluation"] = i.evaluation;
  return doc;
}

ModelInfo model_info_from_json(const Json& doc, const std::string& source) {
  const JsonFields f(doc, source + ": xgrad metadata");
  auto bad = [&](const std::string& what) { throw InputError(source + ": xgrad metadata: " + what); };
  ModelInfo i;
  for (std::uint64_t s : f.counts("layers", 1000000)) i.layers.push_back(std::size_t(s));
  i.activation = f.text("activation");
  i.head = f.text("head");
  i.dropout = float(f.number("dropout", 0.0, 1.0, 0.0));
  for (std::uint64_t s : f.counts("input_shape", 1000000)) i.input_shape.push_back(std::size_t(s));
  // Images are normalised from x/255 in [0, 1]: a mean in [0, 1], a std in (0, 1];
  // tables from the CSV's values. A std below what training computes divides by ~0.
  const bool table = i.input_shape.size() == 1;
  for (double m : f.numbers("mean", table ? -kMaxTableValue : 0.0, table ? kMaxTableValue : 1.0)) i.mean.push_back(float(m));
  for (double s : f.numbers("std", kMinStd, table ? kMaxTableValue : 1.0)) i.std.push_back(float(s));
  i.classes = f.texts("classes");
  if (f.has("features")) i.features = f.texts("features");
  i.config = f.object("config");
  i.seed = f.count("seed", UINT64_MAX);
  i.version = f.text("version");
  i.data_sha256 = f.text("data_sha256", "");
  if (!i.data_sha256.empty() && !is_hex_digest(i.data_sha256)) f.fail("data_sha256", "must be 64 lowercase hex digits (a SHA-256)");
  i.epoch = std::size_t(f.count("epoch", UINT32_MAX, 0));
  i.evaluation = f.object("evaluation");

  if (i.layers.size() < 2) bad("\"layers\" needs at least the input and output sizes");
  for (std::size_t s : i.layers)
    if (s == 0) bad("\"layers\" holds a size outside 1..1000000");
  if (i.activation != "relu" && i.activation != "tanh" && i.activation != "sigmoid" && i.activation != "leaky_relu") {
    bad("activation '" + i.activation.substr(0, 40) + "' is not one of relu, tanh, sigmoid, leaky_relu");
  }
  if (!(i.dropout >= 0.0f && i.dropout < 1.0f)) bad("\"dropout\" must be in [0, 1)");
  if (i.head != "softmax_cross_entropy" && i.head != "sigmoid") {
    bad("head '" + i.head.substr(0, 40) + "' is not one of softmax_cross_entropy, sigmoid");
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
  if (i.input_shape.size() > 3 || (i.input_shape.size() == 3 && i.input_shape[0] != 1 && i.input_shape[0] != 3)) {
    bad("\"input_shape\" must be [rows, cols] or [channels (1 or 3), rows, cols] (images) or [features] (tables)");
  }
  // Images (input_shape [rows, cols], or [channels, rows, cols] for colour) have
  // one mean and std per channel; tables ([features]) one per feature. A colour
  // model written before means were per channel has one value for all three:
  // it is read as that value for each channel, which is what it meant.
  const std::size_t channels = i.input_shape.size() == 3 ? i.input_shape[0] : 1;
  const std::size_t norm_values = table ? inputs : channels;
  if (!table && channels > 1 && i.mean.size() == 1 && i.std.size() == 1) {
    i.mean.assign(channels, i.mean.front());
    i.std.assign(channels, i.std.front());
  }
  if (i.mean.size() != norm_values || i.std.size() != norm_values) {
    const std::string per = table ? "one per feature" : "one per channel";
    bad("\"mean\" and \"std\" must hold " + std::to_string(norm_values) + " value" + (norm_values == 1 ? "" : "s") +
        " each (" + per + ") for input_shape " + Json(i.input_shape).dump() + ", not " + std::to_string(i.mean.size()) +
        " and " + std::to_string(i.std.size()));
  }
  if (!i.features.empty() && (!table || i.features.size() != inputs)) {
    bad("\"features\" must name each of the " + std::to_string(inputs) + " inputs of a table model");
  }
  if (f.has("arch")) i.arch = f.text("arch");
  if (i.arch != "mlp") {
    // The layer list itself is checked against the input when the model is built (io/model_file.cpp).
    parse_architecture(i.arch, source + ": xgrad metadata \"arch\"");
    for (std::uint64_t s : f.counts("input_chw", 1000000)) i.input_chw.push_back(std::size_t(s));
    if (i.layers.size() != 2) bad("\"layers\" of an \"arch\" model must be [inputs, outputs]");
    if (!table && i.input_chw != network_input(i.input_shape)) {
      bad("\"input_chw\" " + Json(i.input_chw).dump() + " does not match input_shape " + Json(i.input_shape).dump());
    }
    if (table && !i.input_chw.empty()) bad("\"input_chw\" must be [] for a table model");
  }
  return i;
}

TrainingState training_state_from_text(const std::string& text, const std::string& source) {
  const std::string what = source + ": xgrad_state metadata";
  const Json doc = parse_json(text, what);
  const JsonFields f(doc, what);
  const double huge = std::numeric_limits<double>::max();
  TrainingState s;
  s.epoch = std::size_t(f.count("epoch", UINT32_MAX));
  s.has_best_loss = f.has("best_test_loss");
  if (s.has_best_loss) s.best_test_loss = f.number("best_test_loss", -huge, huge);
  s.metrics = f.text("metrics", "");
  // The metrics lines (continued in the --metrics file, read back for --report): JSON objects of finished epochs.
  std::istringstream lines(s.metrics);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line);) {
    const std::string where = what + " \"metrics\" line " + std::to_string(++n);
    const Json epoch_line = parse_json(line, where);
    JsonFields(epoch_line, where).count("epoch", s.epoch);
  }
  s.has_losses = f.has("monitored_losses");
  if (s.has_losses) {
    s.monitored_losses = f.numbers("monitored_losses", -huge, huge);
    if (s.monitored_losses.size() != s.epoch) {
      f.fail("monitored_losses", "must hold one loss per finished epoch (" + std::to_string(s.epoch) + "), not " +
                                     std::to_string(s.monitored_losses.size()));
    }
  }
  return s;
}

}  // namespace xg
