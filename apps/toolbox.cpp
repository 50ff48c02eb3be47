#include "apps/toolbox.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <CLI/CLI.hpp>

#include "core/error.hpp"
#include "core/init.hpp"
#include "core/ops.hpp"
#include "layers/activations.hpp"
#include "layers/dropout.hpp"
#include "layers/linear.hpp"
#include "losses/binary_cross_entropy.hpp"
#include "losses/penalties.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

namespace xg {

void add_toolbox_flags(CLI::App* cmd, TrainOptions& o) {
  cmd->add_option("--optimizer", o.optimizer, "sgd, adam or adamw (torch.optim's formulas)")->capture_default_str();
  cmd->add_flag("--nesterov", o.nesterov, "Nesterov momentum (sgd with --momentum > 0)");
  cmd->add_option("--dampening", o.dampening, "SGD: dampening τ of the momentum, in [0, 1) (0 with --nesterov)")
      ->capture_default_str();
  cmd->add_option("--betas", o.betas, "Adam/AdamW: β1,β2, the decay rates of the gradient's mean and square, each in [0, 1)")
      ->capture_default_str();
  cmd->add_option("--eps", o.eps, "Adam/AdamW: ε added to the denominator's square root")->capture_default_str();
  cmd->add_flag("--amsgrad", o.amsgrad, "Adam/AdamW: divide by the running maximum of the second moment (AMSGrad)");
  cmd->add_option("--weight-decay", o.weight_decay,
                  "Weight decay λ on every parameter: sgd and adam add λ·p to the gradient, adamw decays p by lr·λ")
      ->default_str("0 (adamw: 0.01)");
  cmd->add_option("--l1", o.l1, "Add l1 · Σ|w| over the weights (not biases) to the training loss")->capture_default_str();
  cmd->add_option("--l2", o.l2, "Add l2 · Σw² over the weights (not biases) to the training loss")->capture_default_str();
  cmd->add_option("--label-smoothing", o.label_smoothing, "Label smoothing ε in [0, 1) (softmax head)")
      ->capture_default_str();
  cmd->add_option("--class-weights", o.class_weights,
                  "Per-class loss weights, comma separated, one per class (softmax head)");
  cmd->add_option("--pos-weight", o.pos_weight, "Weight of the positive class in the loss (sigmoid head)")
      ->capture_default_str();
  cmd->add_option("--activation", o.activation, "Hidden activation: relu, tanh, sigmoid or leaky_relu (slope 0.01)")
      ->capture_default_str();
  cmd->add_option("--dropout", o.dropout, "Dropout probability after each hidden activation, in [0, 1)")
      ->capture_default_str();
  cmd->add_option("--init", o.init,
                  "Weight init: default (torch.nn.Linear's), kaiming_uniform, kaiming_normal, xavier_uniform or "
                  "xavier_normal (gain from --activation; biases zero)")
      ->capture_default_str();
  cmd->add_option("--init-mode", o.init_mode, "fan_in or fan_out, for the kaiming inits")->capture_default_str();
  cmd->add_option("--step-size", o.step_size, "--schedule step: multiply the rate by --gamma every N epochs")
      ->capture_default_str();
  cmd->add_option("--milestones", o.milestones,
                  "--schedule multistep: epochs (counted after warm-up) after which the rate is multiplied by --gamma, "
                  "e.g. 5,8");
  cmd->add_option("--gamma", o.gamma, "Rate factor of step, multistep, exponential and plateau")
      ->default_str("0.1 (exponential: 0.9)");
  cmd->add_option("--min-lr", o.min_lr, "Floor of the rate for cosine and plateau")->capture_default_str();
  cmd->add_option("--plateau-patience", o.plateau_patience,
                  "--schedule plateau: epochs without improvement of the monitored loss before the rate drops")
      ->capture_default_str();
  cmd->add_option("--warmup-epochs", o.warmup_epochs,
                  "Linear warm-up: epoch e ≤ W uses lr·e/(W+1), then the schedule starts")
      ->capture_default_str();
  cmd->add_option("--clip-grad-norm", o.clip_grad_norm, "Clip the global gradient norm to this (0: off)")
      ->capture_default_str();
  cmd->add_option("--val-split", o.val_split,
                  "Hold out this fraction of the training set (seeded) for validation; the test set is then used "
                  "only once, at the end")
      ->capture_default_str();
  cmd->add_option("--early-stop", o.early_stop,
                  "Stop after this many epochs without a lower validation (or test) loss (0: off)")
      ->capture_default_str();
  cmd->add_option("--head", o.head, "softmax, or sigmoid (one output, binary cross-entropy; 2 classes)")
      ->capture_default_str();
  cmd->add_option("--classes-subset", o.classes_subset,
                  "Keep only these labels, comma separated (e.g. 0,1), renumbered 0..k-1");
}

namespace {

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

[[noreturn]] void fail(const std::string& message) { throw InputError(message); }

bool one_of(const std::string& value, std::initializer_list<const char*> choices) {
  for (const char* c : choices)
    if (value == c) return true;
  return false;
}

// "a,b,c" -> the items; throws naming the flag when an item is not a number.
std::vector<double> parse_numbers(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !std::isfinite(v)) {
      fail(flag + ": '" + text + "' is not a comma-separated list of numbers");
    }
    out.push_back(v);
  }
  if (out.empty() || text.back() == ',') fail(flag + ": '" + text + "' is not a comma-separated list of numbers");
  return out;
}

std::vector<std::size_t> parse_counts(const std::string& flag, const std::string& text) {
  std::vector<std::size_t> out;
  for (double v : parse_numbers(flag, text)) {
    if (v < 0 || v != std::floor(v)) fail(flag + ": '" + text + "' must list whole numbers ≥ 0");
    out.push_back(std::size_t(v));
  }
  return out;
}

double default_weight_decay(const TrainOptions& o) {
  if (o.weight_decay >= 0) return o.weight_decay;
  return o.optimizer == "adamw" ? 0.01 : 0.0;
}

double gamma_of(const TrainOptions& o) {
  if (o.gamma >= 0) return o.gamma;
  return o.schedule == "exponential" ? 0.9 : 0.1;
}

}  // namespace

void validate_toolbox_options(const TrainOptions& o) {
  auto given = [&](const char* flag) { return o.was_given(flag); };
  if (!one_of(o.optimizer, {"sgd", "adam", "adamw"})) fail("--optimizer must be sgd, adam or adamw, got '" + o.optimizer + "'");
  if (o.optimizer != "sgd" && given("--momentum")) fail("--momentum applies to --optimizer sgd only, not " + o.optimizer);
  if (o.nesterov && o.optimizer != "sgd") fail("--nesterov applies to --optimizer sgd only, not " + o.optimizer);
  if (o.nesterov && o.momentum == 0.0) fail("--nesterov needs --momentum > 0");
  if (o.optimizer != "sgd" && given("--dampening")) fail("--dampening applies to --optimizer sgd only, not " + o.optimizer);
  if (!(o.dampening >= 0.0 && o.dampening < 1.0)) fail("--dampening must be in [0, 1), got " + number(o.dampening));
  if (o.nesterov && o.dampening != 0.0) fail("--nesterov needs --dampening 0 (as torch.optim.SGD)");
  for (const char* flag : {"--betas", "--eps", "--amsgrad"}) {
    if (o.optimizer == "sgd" && given(flag)) fail(std::string(flag) + " applies to --optimizer adam or adamw only");
  }
  const std::vector<double> betas = parse_numbers("--betas", o.betas);
  if (betas.size() != 2 || !(betas[0] >= 0.0 && betas[0] < 1.0) || !(betas[1] >= 0.0 && betas[1] < 1.0)) {
    fail("--betas must be two numbers in [0, 1) like 0.9,0.999, got '" + o.betas + "'");
  }
  if (!(o.eps > 0.0 && std::isfinite(o.eps))) fail("--eps must be a positive number, got " + number(o.eps));
  if (given("--weight-decay") && !(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay)))
    fail("--weight-decay must be ≥ 0, got " + number(o.weight_decay));
  if (!(o.l1 >= 0.0 && std::isfinite(o.l1))) fail("--l1 must be ≥ 0, got " + number(o.l1));
  if (!(o.l2 >= 0.0 && std::isfinite(o.l2))) fail("--l2 must be ≥ 0, got " + number(o.l2));
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing < 1.0))
    fail("--label-smoothing must be in [0, 1), got " + number(o.label_smoothing));
  if (!o.class_weights.empty())
    for (double w : parse_numbers("--class-weights", o.class_weights))
      if (w < 0) fail("--class-weights must not be negative, got '" + o.class_weights + "'");
  if (!(o.pos_weight > 0.0 && std::isfinite(o.pos_weight))) fail("--pos-weight must be positive, got " + number(o.pos_weight));
  if (!one_of(o.activation, {"relu", "tanh", "sigmoid", "leaky_relu"}))
    fail("--activation must be relu, tanh, sigmoid or leaky_relu, got '" + o.activation + "'");
  if (!(o.dropout >= 0.0 && o.dropout < 1.0)) fail("--dropout must be in [0, 1), got " + number(o.dropout));
  if (!one_of(o.init, {"default", "kaiming_uniform", "kaiming_normal", "xavier_uniform", "xavier_normal"}))
    fail("--init must be default, kaiming_uniform, kaiming_normal, xavier_uniform or xavier_normal, got '" + o.init + "'");
  if (!one_of(o.init_mode, {"fan_in", "fan_out"})) fail("--init-mode must be fan_in or fan_out, got '" + o.init_mode + "'");
  if (given("--init-mode") && o.init.rfind("kaiming", 0) != 0) fail("--init-mode applies to the kaiming inits only, not --init " + o.init);

  if (!one_of(o.schedule, {"none", "step", "multistep", "cosine", "exponential", "plateau"}))
    fail("--schedule must be none, step, multistep, cosine, exponential or plateau, got '" + o.schedule + "'");
  if (given("--step-size") && o.schedule != "step") fail("--step-size applies to --schedule step only, not " + o.schedule);
  if (o.schedule == "step" && o.step_size == 0) fail("--step-size must be at least 1");
  if (!o.milestones.empty() && o.schedule != "multistep") fail("--milestones applies to --schedule multistep only, not " + o.schedule);
  if (o.schedule == "multistep") {
    if (o.milestones.empty()) fail("--schedule multistep needs --milestones, e.g. --milestones 5,8");
    parse_counts("--milestones", o.milestones);
  }
  if (given("--gamma") && !one_of(o.schedule, {"step", "multistep", "exponential", "plateau"}))
    fail("--gamma applies to --schedule step, multistep, exponential or plateau, not " + o.schedule);
  if (given("--gamma") && !(o.gamma > 0.0 && (o.gamma < 1.0 || (o.gamma == 1.0 && o.schedule != "plateau"))))
    fail("--gamma must be in (0, 1), got " + number(o.gamma));
  if (given("--min-lr") && !one_of(o.schedule, {"cosine", "plateau"}))
    fail("--min-lr applies to --schedule cosine or plateau, not " + o.schedule);
  if (!(o.min_lr >= 0.0 && o.min_lr < o.lr)) fail("--min-lr must be in [0, --lr), got " + number(o.min_lr));
  if (given("--plateau-patience") && o.schedule != "plateau")
    fail("--plateau-patience applies to --schedule plateau only, not " + o.schedule);
  if (o.warmup_epochs >= o.epochs && o.warmup_epochs > 0)
    fail("--warmup-epochs " + std::to_string(o.warmup_epochs) + " leaves no epoch of --epochs " + std::to_string(o.epochs) + " after it");
  if (!(o.clip_grad_norm >= 0.0 && std::isfinite(o.clip_grad_norm)))
    fail("--clip-grad-norm must be ≥ 0 (0: off), got " + number(o.clip_grad_norm));
  if (!(o.val_split >= 0.0 && o.val_split < 1.0)) fail("--val-split must be in [0, 1), got " + number(o.val_split));

  if (!one_of(o.head, {"softmax", "sigmoid"})) fail("--head must be softmax or sigmoid, got '" + o.head + "'");
  if (o.head == "sigmoid" && o.label_smoothing != 0.0) fail("--label-smoothing applies to --head softmax only");
  if (o.head == "sigmoid" && !o.class_weights.empty()) fail("--class-weights applies to --head softmax only; use --pos-weight");
  if (o.head == "softmax" && given("--pos-weight")) fail("--pos-weight applies to --head sigmoid only");
  if (!o.classes_subset.empty()) parse_counts("--classes-subset", o.classes_subset);
}

void keep_classes(Dataset& data, const std::string& spec) {
  const std::vector<std::size_t> keep = parse_counts("--classes-subset", spec);
  std::vector<int> new_label(data.num_classes(), -1);
  for (std::size_t i = 0; i < keep.size(); ++i) {
    if (keep[i] >= data.num_classes()) {
      fail("--classes-subset: label " + std::to_string(keep[i]) + " is not a class of the data (0.." +
           std::to_string(data.num_classes() - 1) + ")");
    }
    if (new_label[keep[i]] >= 0) fail("--classes-subset: label " + std::to_string(keep[i]) + " is given twice");
    new_label[keep[i]] = int(i);
  }
  if (keep.size() < 2) fail("--classes-subset needs at least 2 classes, got '" + spec + "'");
  auto filter = [&](Split& set, const char* split) {
    std::vector<std::uint32_t> kept;
    for (std::size_t i = 0; i < set.count; ++i)
      if (new_label[set.labels[i]] >= 0) kept.push_back(std::uint32_t(i));
    if (kept.empty()) fail(std::string("--classes-subset ") + spec + " leaves no " + split + " items");
    set = select(set, kept);
    for (std::uint32_t& y : set.labels) y = std::uint32_t(new_label[y]);
  };
  filter(data.train, "training");
  filter(data.test, "test");
  std::vector<std::string> names;
  for (std::size_t c : keep) names.push_back(data.class_names[c]);
  data.class_names = std::move(names);
}

Split split_validation(Split& train, double fraction, std::uint64_t seed) {
  const std::size_t held = std::size_t(std::llround(fraction * double(train.count)));
  if (held == 0 || held >= train.count) {
    fail("--val-split " + number(fraction) + " of " + std::to_string(train.count) +
         " training items leaves an empty training or validation set");
  }
  std::vector<std::uint32_t> order(train.count);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = std::uint32_t(i);
  Rng rng(seed ^ 0x5eed0f7a11da7eULL);  // a stream apart from the weights' and the shuffling's
  rng.shuffle(order);
  std::vector<bool> is_validation(train.count, false);
  for (std::size_t i = 0; i < held; ++i) is_validation[order[i]] = true;
  std::vector<std::uint32_t> validation_items, training_items;  // each in file order
  for (std::uint32_t i = 0; i < train.count; ++i) (is_validation[i] ? validation_items : training_items).push_back(i);
  Split validation = select(train, validation_items);
  train = select(train, training_items);
  return validation;
}

std::shared_ptr<Sequential> build_model(const TrainOptions& o, std::size_t inputs, std::size_t classes, Rng& rng) {
  std::vector<std::size_t> sizes{inputs};
  for (std::size_t h : parse_size_list("--hidden", o.hidden)) sizes.push_back(h);
  sizes.push_back(o.head == "sigmoid" ? 1 : classes);
  auto model = std::make_shared<Sequential>();
  std::vector<std::shared_ptr<Linear>> linears;
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    linears.push_back(std::make_shared<Linear>(sizes[i], sizes[i + 1], rng));
    model->add(linears.back());
    if (i + 2 < sizes.size()) {
      model->add(make_activation(o.activation));
      if (o.dropout > 0) model->add(std::make_shared<Dropout>(float(o.dropout), o.seed * 1000003ULL + 7919ULL * (i + 1)));
    }
  }
  if (o.init != "default") {
    const float gain = calculate_gain(o.activation);
    const FanMode mode = o.init_mode == "fan_out" ? FanMode::FanOut : FanMode::FanIn;
    for (auto& layer : linears) {
      Array& w = layer->weight.value();
      if (o.init == "kaiming_uniform") kaiming_uniform(w, rng, gain, mode);
      else if (o.init == "kaiming_normal") kaiming_normal(w, rng, gain, mode);
      else if (o.init == "xavier_uniform") xavier_uniform(w, rng, gain);
      else xavier_normal(w, rng, gain);
      fill_zeros(layer->bias.value());
    }
  }
  return model;
}

std::unique_ptr<Optimizer> build_optimizer(const TrainOptions& o, std::vector<Tensor> parameters) {
  const float lr = float(o.lr), wd = float(default_weight_decay(o));
  if (o.optimizer == "sgd") {
    SGDOptions s;
    s.momentum = float(o.momentum);
    s.nesterov = o.nesterov;
    s.dampening = float(o.dampening);
    s.weight_decay = wd;
    return std::make_unique<SGD>(std::move(parameters), lr, s);
  }
  AdamOptions a;
  a.weight_decay = wd;
  const std::vector<double> betas = parse_numbers("--betas", o.betas);
  a.beta1 = float(betas.at(0));
  a.beta2 = float(betas.at(1));
  a.eps = float(o.eps);
  a.amsgrad = o.amsgrad;
  if (o.optimizer == "adam") return std::make_unique<Adam>(std::move(parameters), lr, a);
  return std::make_unique<AdamW>(std::move(parameters), lr, a);
}

std::unique_ptr<LRSchedule> build_schedule(const TrainOptions& o) {
  const std::size_t epochs = o.epochs - o.warmup_epochs;  // the schedule's horizon after warm-up
  std::unique_ptr<LRSchedule> s;
  if (o.schedule == "none") s = std::make_unique<ConstantLR>(o.lr);
  else if (o.schedule == "step") s = std::make_unique<StepLR>(o.lr, o.step_size, gamma_of(o));
  else if (o.schedule == "multistep") s = std::make_unique<MultiStepLR>(o.lr, parse_counts("--milestones", o.milestones), gamma_of(o));
  else if (o.schedule == "exponential") s = std::make_unique<ExponentialLR>(o.lr, gamma_of(o));
  else if (o.schedule == "cosine") s = std::make_unique<CosineAnnealingLR>(o.lr, epochs, o.min_lr);
  else {
    PlateauOptions p;
    p.factor = gamma_of(o);
    p.patience = o.plateau_patience;
    p.min_lr = o.min_lr;
    s = std::make_unique<ReduceLROnPlateau>(o.lr, p);
  }
  if (o.warmup_epochs > 0) s = std::make_unique<LinearWarmup>(std::move(s), o.warmup_epochs, 1.0 / double(o.warmup_epochs + 1));
  return s;
}

Objective build_objective(const TrainOptions& o, const Module& model, std::size_t classes) {
  Objective objective;
  objective.clip_grad_norm = o.clip_grad_norm;
  if (o.head == "sigmoid") {
    if (classes != 2) {
      fail("--head sigmoid needs a data set with 2 classes, this one has " + std::to_string(classes) +
           " (use --classes-subset, e.g. --classes-subset 0,1)");
    }
    objective.binary = true;
    BceOptions bce;
    if (o.pos_weight != 1.0) bce.pos_weight = {float(o.pos_weight)};
    objective.loss = [bce](const Tensor& outputs, const std::vector<std::uint32_t>& labels) {
      Array targets = Array::from_shape(outputs.value().shape());  // (B, 1): 1 for class 1
      for (std::size_t i = 0; i < labels.size(); ++i) targets.data()[i] = labels[i] == 1 ? 1.0f : 0.0f;
      return bce_with_logits(outputs, targets, bce);
    };
  } else if (o.label_smoothing > 0 || !o.class_weights.empty()) {
    CrossEntropyOptions ce;
    ce.label_smoothing = float(o.label_smoothing);
    if (!o.class_weights.empty()) {
      for (double w : parse_numbers("--class-weights", o.class_weights)) ce.weight.push_back(float(w));
      if (ce.weight.size() != classes) {
        fail("--class-weights gives " + std::to_string(ce.weight.size()) + " weights but the data has " +
             std::to_string(classes) + " classes");
      }
    }
    objective.loss = [ce](const Tensor& outputs, const std::vector<std::uint32_t>& labels) {
      return cross_entropy(outputs, labels, ce);
    };
  } else {
    objective.loss = [](const Tensor& outputs, const std::vector<std::uint32_t>& labels) {
      return softmax_cross_entropy(outputs, labels);
    };
  }
  if (o.l1 > 0 || o.l2 > 0) {
    const std::vector<Tensor> weights = weights_only(model.named_parameters());
    const float l1 = float(o.l1), l2 = float(o.l2);
    objective.penalty = [weights, l1, l2] {
      if (l1 == 0) return scale(l2_penalty(weights), l2);
      if (l2 == 0) return scale(l1_penalty(weights), l1);
      return add(scale(l1_penalty(weights), l1), scale(l2_penalty(weights), l2));
    };
  }
  return objective;
}

std::string describe_training(const TrainOptions& o) {
  std::ostringstream s;
  if (o.optimizer == "sgd") {
    s << "SGD lr " << o.lr << " momentum " << o.momentum << (o.nesterov ? " nesterov" : "");
    if (o.dampening > 0) s << " dampening " << o.dampening;
  } else {
    s << (o.optimizer == "adam" ? "Adam" : "AdamW") << " lr " << o.lr;
    if (o.betas != "0.9,0.999") s << " betas " << o.betas;
    if (o.eps != 1e-8) s << " eps " << o.eps;
    if (o.amsgrad) s << " amsgrad";
  }
  if (default_weight_decay(o) > 0) s << " weight_decay " << default_weight_decay(o);
  s << ", schedule " << o.schedule;
  if (o.warmup_epochs) s << " after " << o.warmup_epochs << " warm-up epochs";
  if (o.head == "sigmoid") s << ", sigmoid head";
  if (o.label_smoothing > 0) s << ", label smoothing " << o.label_smoothing;
  if (!o.class_weights.empty()) s << ", class weights " << o.class_weights;
  if (o.l1 > 0) s << ", l1 " << o.l1;
  if (o.l2 > 0) s << ", l2 " << o.l2;
  if (o.clip_grad_norm > 0) s << ", clip-grad-norm " << o.clip_grad_norm;
  if (o.early_stop) s << ", early stop after " << o.early_stop;
  return s.str();
}

}  // namespace xg
