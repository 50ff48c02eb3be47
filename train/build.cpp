#include "train/build.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "io/number_text.hpp"
#include "core/init.hpp"
#include "core/ops.hpp"
#include "layers/activations.hpp"
#include "layers/architecture.hpp"
#include "layers/batchnorm.hpp"
#include "layers/dropout.hpp"
#include "layers/linear.hpp"
#include "losses/binary_cross_entropy.hpp"
#include "losses/penalties.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"

namespace xg {

namespace {

// The parameters that --init and --l1/--l2 act on: every layer's but
// BatchNorm2d's γ and β (torch.nn.init is for conv and linear weights, which
// BatchNorm2d's γ = 1, β = 0 are not; Keras regularises kernels, not gamma).
std::vector<std::pair<std::string, Tensor>> initialised_parameters(const Module& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [position, child] : model.children()) {
    if (dynamic_cast<const BatchNorm2d*>(child.get())) continue;
    for (const auto& [name, p] : child->named_parameters()) out.emplace_back(position + "." + name, p);
  }
  return out;
}

}  // namespace

void keep_classes(Dataset& data, const std::string& spec) {
  const std::vector<std::size_t> keep = parse_count_list("--classes-subset", spec);
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
    fail("--val-split " + format_number(fraction) + " of " + std::to_string(train.count) +
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

std::shared_ptr<Sequential> build_model(const TrainConfig& o, const Shape& item_shape, std::size_t classes, Rng& rng) {
  const std::size_t outputs = o.head == "sigmoid" ? 1 : classes;
  std::shared_ptr<Sequential> model;
  if (o.arch == "mlp") {
    MlpSpec spec;
    std::size_t inputs = 1;
    for (std::size_t d : item_shape) inputs *= d;
    spec.sizes = {inputs};
    for (std::size_t h : parse_size_list("--hidden", o.hidden)) spec.sizes.push_back(h);
    spec.sizes.push_back(outputs);
    spec.activation = o.activation;
    spec.dropout = float(o.dropout);
    spec.dropout_seed = o.seed;
    model = make_mlp(spec, rng);
  } else {
    model = make_network(parse_architecture(o.arch, "--arch"), network_input(item_shape), outputs, rng, "--arch");
  }
  if (o.init != "default") {
    // The gain of --activation for an MLP; a layer list's activations may differ, and ReLU is the usual one.
    const float gain = calculate_gain(o.arch == "mlp" ? o.activation : "relu");
    const FanMode mode = o.init_mode == "fan_out" ? FanMode::FanOut : FanMode::FanIn;
    auto parameters = initialised_parameters(*model);
    for (auto& [name, p] : parameters) {
      Array& w = p.value();
      if (w.dimension() == 1) fill_zeros(w);  // a bias
      else if (o.init == "kaiming_uniform") kaiming_uniform(w, rng, gain, mode);
      else if (o.init == "kaiming_normal") kaiming_normal(w, rng, gain, mode);
      else if (o.init == "xavier_uniform") xavier_uniform(w, rng, gain);
      else xavier_normal(w, rng, gain);
    }
  }
  return model;
}

std::shared_ptr<Sequential> build_model(const TrainConfig& o, std::size_t inputs, std::size_t classes, Rng& rng) {
  return build_model(o, Shape{inputs}, classes, rng);
}

std::unique_ptr<Optimizer> build_optimizer(const TrainConfig& o, std::vector<Tensor> parameters) {
  const float lr = float(o.lr), wd = float(effective_weight_decay(o));
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
  const std::vector<double> betas = parse_number_list("--betas", o.betas);
  a.beta1 = float(betas.at(0));
  a.beta2 = float(betas.at(1));
  a.eps = float(o.eps);
  a.amsgrad = o.amsgrad;
  if (o.optimizer == "adam") return std::make_unique<Adam>(std::move(parameters), lr, a);
  return std::make_unique<AdamW>(std::move(parameters), lr, a);
}

std::unique_ptr<LRSchedule> build_schedule(const TrainConfig& o) {
  const std::size_t epochs = o.epochs - o.warmup_epochs;  // the schedule's horizon after warm-up
  std::unique_ptr<LRSchedule> s;
  if (o.schedule == "none") s = std::make_unique<ConstantLR>(o.lr);
  else if (o.schedule == "step") s = std::make_unique<StepLR>(o.lr, o.step_size, effective_gamma(o));
  else if (o.schedule == "multistep") s = std::make_unique<MultiStepLR>(o.lr, parse_count_list("--milestones", o.milestones), effective_gamma(o));
  else if (o.schedule == "exponential") s = std::make_unique<ExponentialLR>(o.lr, effective_gamma(o));
  else if (o.schedule == "cosine") s = std::make_unique<CosineAnnealingLR>(o.lr, epochs, o.min_lr);
  else {
    PlateauOptions p;
    p.factor = effective_gamma(o);
    p.patience = o.plateau_patience;
    p.min_lr = o.min_lr;
    s = std::make_unique<ReduceLROnPlateau>(o.lr, p);
  }
  if (o.warmup_epochs > 0) s = std::make_unique<LinearWarmup>(std::move(s), o.warmup_epochs, 1.0 / double(o.warmup_epochs + 1));
  return s;
}

Objective build_objective(const TrainConfig& o, const Module& model, std::size_t classes) {
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
      for (double w : parse_number_list("--class-weights", o.class_weights)) ce.weight.push_back(float(w));
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
    const std::vector<Tensor> weights = weights_only(initialised_parameters(model));
    const float l1 = float(o.l1), l2 = float(o.l2);
    objective.penalty = [weights, l1, l2] {
      if (l1 == 0) return scale(l2_penalty(weights), l2);
      if (l2 == 0) return scale(l1_penalty(weights), l1);
      return add(scale(l1_penalty(weights), l1), scale(l2_penalty(weights), l2));
    };
  }
  return objective;
}

}  // namespace xg
