#include "train/config.hpp"

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "datasets/csv.hpp"
#include "datasets/augment.hpp"
#include "datasets/image_folder.hpp"
#include "io/number_text.hpp"
#include "layers/architecture.hpp"

namespace xg {
namespace {

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (value == c) return true;
  return false;
}

void validate_data(const TrainConfig& c) {
  if (!(c.test_split >= 0.0 && c.test_split < 1.0)) fail("--test-split must be in [0, 1), got " + format_number(c.test_split));
  if (!c.test_file.empty() && !is_csv_path(c.test_file)) fail("--test " + c.test_file + ": expected a .csv file");
  if (is_csv_path(c.data) && c.test_file.empty() && c.test_split == 0.0) {
    fail("--test-split 0 leaves no test rows; give --test FILE.csv or a fraction such as 0.2");
  }
  if (!(c.val_split >= 0.0 && c.val_split < 1.0)) fail("--val-split must be in [0, 1), got " + format_number(c.val_split));
  if (!c.classes_subset.empty()) parse_count_list("--classes-subset", c.classes_subset);
  if (c.channels != 1 && c.channels != 3) fail("--channels must be 1 (grey) or 3 (RGB), got " + std::to_string(c.channels));
  if (!c.image_size.empty()) parse_image_size(c.image_size);
  parse_augment(c.augment);
}

void validate_model(const TrainConfig& c) {
  if (c.arch != "mlp") parse_architecture(c.arch, "--arch");
  parse_size_list("--hidden", c.hidden);
  if (!one_of(c.activation, {"relu", "tanh", "sigmoid", "leaky_relu"}))
    fail("--activation must be relu, tanh, sigmoid or leaky_relu, got '" + c.activation + "'");
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) fail("--dropout must be in [0, 1), got " + format_number(c.dropout));
  if (!one_of(c.init, {"default", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal"}))
    fail("--init must be default, kaiming_uniform, kaiming_normal, xavier_uniform or xavier_normal, got '" + c.init + "'");
  if (!one_of(c.init_mode, {"fan_in", "fan_out"})) fail("--init-mode must be fan_in or fan_out, got '" + c.init_mode + "'");
  if (!one_of(c.head, {"softmax", "sigmoid"})) fail("--head must be softmax or sigmoid, got '" + c.head + "'");
}

void validate_optimizer(const TrainConfig& c) {
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) fail("--lr must be a positive number, got " + format_number(c.lr));
  if (!(c.momentum >= 0.0 && c.momentum < 1.0)) fail("--momentum must be in [0, 1), got " + format_number(c.momentum));
  if (!one_of(c.optimizer, {"sgd", "adam", "adamw"})) fail("--optimizer must be sgd, adam or adamw, got '" + c.optimizer + "'");
  if (c.nesterov && c.optimizer != "sgd") fail("--nesterov applies to --optimizer sgd only, not " + c.optimizer);
  if (c.nesterov && c.momentum == 0.0) fail("--nesterov needs --momentum > 0");
  if (!(c.dampening >= 0.0 && c.dampening < 1.0)) fail("--dampening must be in [0, 1), got " + format_number(c.dampening));
  if (c.nesterov && c.dampening != 0.0) fail("--nesterov needs --dampening 0 (as torch.optim.SGD)");
  const std::vector<double> betas = parse_number_list("--betas", c.betas);
  if (betas.size() != 2 || !(betas[0] >= 0.0 && betas[0] < 1.0) || !(betas[1] >= 0.0 && betas[1] < 1.0)) {
    fail("--betas must be two numbers in [0, 1) like 0.9,0.999, got '" + c.betas + "'");
  }
  if (!(c.eps > 0.0 && std::isfinite(c.eps))) fail("--eps must be a positive number, got " + format_number(c.eps));
  // weight_decay < 0 means the optimizer's default; NaN and infinity are no such thing.
  if (!std::isfinite(c.weight_decay)) fail("--weight-decay must be ≥ 0, got " + format_number(c.weight_decay));
  if (!(c.clip_grad_norm >= 0.0 && std::isfinite(c.clip_grad_norm)))
    fail("--clip-grad-norm must be ≥ 0 (0: off), got " + format_number(c.clip_grad_norm));
}

void validate_loss(const TrainConfig& c) {
  if (!(c.l1 >= 0.0 && std::isfinite(c.l1))) fail("--l1 must be ≥ 0, got " + format_number(c.l1));
  if (!(c.l2 >= 0.0 && std::isfinite(c.l2))) fail("--l2 must be ≥ 0, got " + format_number(c.l2));
  if (!(c.label_smoothing >= 0.0 && c.label_smoothing < 1.0))
    fail("--label-smoothing must be in [0, 1), got " + format_number(c.label_smoothing));
  if (!c.class_weights.empty())
    for (double w : parse_number_list("--class-weights", c.class_weights))
      if (w < 0) fail("--class-weights must not be negative, got '" + c.class_weights + "'");
  if (!(c.pos_weight > 0.0 && std::isfinite(c.pos_weight))) fail("--pos-weight must be positive, got " + format_number(c.pos_weight));
  if (c.head == "sigmoid" && c.label_smoothing != 0.0) fail("--label-smoothing applies to --head softmax only");
  if (c.head == "sigmoid" && !c.class_weights.empty()) fail("--class-weights applies to --head softmax only; use --pos-weight");
}

void validate_schedule(const TrainConfig& c) {
  if (!one_of(c.schedule, {"none", "step", "multistep", "cosine", "exponential", "plateau"}))
    fail("--schedule must be none, step, multistep, cosine, exponential or plateau, got '" + c.schedule + "'");
  if (c.schedule == "step" && c.step_size == 0) fail("--step-size must be at least 1");
  if (!c.milestones.empty() && c.schedule != "multistep") fail("--milestones applies to --schedule multistep only, not " + c.schedule);
  if (c.schedule == "multistep") {
    if (c.milestones.empty()) fail("--schedule multistep needs --milestones, e.g. --milestones 5,8");
    parse_count_list("--milestones", c.milestones);
  }
  // gamma < 0 means the schedule's default.
  if (c.gamma >= 0.0 && !(c.gamma > 0.0 && (c.gamma < 1.0 || (c.gamma == 1.0 && c.schedule != "plateau"))))
    fail("--gamma must be in (0, 1), got " + format_number(c.gamma));
  if (!std::isfinite(c.gamma)) fail("--gamma must be in (0, 1), got " + format_number(c.gamma));
  if (!(c.min_lr >= 0.0 && c.min_lr < c.lr)) fail("--min-lr must be in [0, --lr), got " + format_number(c.min_lr));
  if (c.warmup_epochs >= c.epochs && c.warmup_epochs > 0)
    fail("--warmup-epochs " + std::to_string(c.warmup_epochs) + " leaves no epoch of --epochs " + std::to_string(c.epochs) +
         " after it");
}

}  // namespace

void validate(const TrainConfig& c) {
  if (c.batch == 0) fail("--batch must be at least 1");
  if (c.batch > kMaxBatch) fail("--batch must be at most " + std::to_string(kMaxBatch) + ", got " + std::to_string(c.batch));
  if (c.epochs == 0) fail("--epochs must be at least 1");
  if (c.epochs > kMaxEpochs) fail("--epochs must be at most " + std::to_string(kMaxEpochs) + ", got " + std::to_string(c.epochs));
  if (c.threads < 0) fail("--threads must be 0 (all cores) or more, got " + std::to_string(c.threads));
  validate_data(c);
  validate_model(c);
  validate_optimizer(c);
  validate_loss(c);
  validate_schedule(c);
}

double effective_weight_decay(const TrainConfig& c) {
  if (c.weight_decay >= 0) return c.weight_decay;
  return c.optimizer == "adamw" ? 0.01 : 0.0;
}

double effective_gamma(const TrainConfig& c) {
  if (c.gamma >= 0) return c.gamma;
  return c.schedule == "exponential" ? 0.9 : 0.1;
}

std::vector<std::size_t> parse_size_list(const std::string& flag, const std::string& text) {
  std::vector<std::size_t> sizes;
  if (text.empty()) return sizes;
  for (std::size_t v : parse_count_list(flag, text, "a comma-separated list of positive sizes such as 256,128")) {
    if (v == 0 || v > 1000000) fail(flag + ": '" + text + "' is not a comma-separated list of positive sizes such as 256,128");
    sizes.push_back(v);
  }
  return sizes;
}

nlohmann::json config_json(const TrainConfig& c) {
  nlohmann::json doc = {{"epochs", c.epochs}};
  for_each_training_flag(c, [&](const char*, const char* key, const auto& field) { doc[key] = field; });
  return doc;
}

TrainConfig config_from_json(const nlohmann::json& doc, const TrainConfig& base, const std::string& source,
                             const std::vector<std::string>& must_match) {
  if (!doc.is_object()) throw InputError(source + ": xgrad metadata \"config\" is not an object");
  TrainConfig c = base;
  for_each_training_flag(c, [&](const char* flag, const char* key, auto& field) {
    using T = std::decay_t<decltype(field)>;
    if (!doc.contains(key)) return;
    T stored;
    try {
      stored = doc.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw InputError(source + ": xgrad metadata config \"" + std::string(key) + "\" has the wrong type");
    }
    bool listed = false;
    for (const std::string& f : must_match) listed = listed || f == flag;
    if (listed && !(field == stored)) {
      throw InputError(std::string(flag) + " differs from the checkpoint " + source + " (" + nlohmann::json(field).dump() +
                       " vs " + nlohmann::json(stored).dump() +
                       "); a resumed run keeps its training flags, only --epochs may change");
    }
    field = stored;
  });
  // A file can hold anything: its values must pass the checks the flags do (with its own epochs, which
  // --warmup-epochs is checked against).
  TrainConfig checked = c;
  const auto epochs = doc.find("epochs");
  if (epochs != doc.end() && epochs->is_number_unsigned()) checked.epochs = epochs->get<std::size_t>();
  try {
    validate(checked);
  } catch (const InputError& e) {
    throw InputError(source + ": xgrad metadata config: " + e.what());
  }
  return c;
}

std::string describe_training(const TrainConfig& c) {
  std::ostringstream s;
  if (c.optimizer == "sgd") {
    s << "SGD lr " << c.lr << " momentum " << c.momentum << (c.nesterov ? " nesterov" : "");
    if (c.dampening > 0) s << " dampening " << c.dampening;
  } else {
    s << (c.optimizer == "adam" ? "Adam" : "AdamW") << " lr " << c.lr;
    if (c.betas != "0.9,0.999") s << " betas " << c.betas;
    if (c.eps != 1e-8) s << " eps " << c.eps;
    if (c.amsgrad) s << " amsgrad";
  }
  if (effective_weight_decay(c) > 0) s << " weight_decay " << effective_weight_decay(c);
  s << ", schedule " << c.schedule;
  if (c.warmup_epochs) s << " after " << c.warmup_epochs << " warm-up epochs";
  if (c.head == "sigmoid") s << ", sigmoid head";
  if (c.label_smoothing > 0) s << ", label smoothing " << c.label_smoothing;
  if (!c.class_weights.empty()) s << ", class weights " << c.class_weights;
  if (c.l1 > 0) s << ", l1 " << c.l1;
  if (c.l2 > 0) s << ", l2 " << c.l2;
  if (c.clip_grad_norm > 0) s << ", clip-grad-norm " << c.clip_grad_norm;
  if (c.early_stop) s << ", early stop after " << c.early_stop;
  return s.str();
}

}  // namespace xg
