// The xgrad half of the PyTorch oracle of the building blocks in layers/,
// losses/ and optim/ (test_layers_losses_optim.py is the other half). Each
// command reads .npy inputs that the script wrote into DIR, runs one activation,
// loss, penalty, optimizer or schedule on them and writes the results as .npy
// for the script to compare with torch. Options are KEY=VALUE words.
//
//   layers_losses_optim_oracle ce DIR [smoothing=F] [reduction=mean|sum|none] [weighted=0|1]
//     reads  logits.npy (B, C) float32, labels.npy (B) int64, weight.npy (C) if weighted,
//            upstream.npy (B) float32 if reduction=none (backward of Σ upstream ⊙ loss)
//     writes loss.npy, dlogits.npy
//   layers_losses_optim_oracle bce DIR [reduction=...] [pos_weighted=0|1]
//     reads  logits.npy (B, K), targets.npy (B, K), pos_weight.npy (K), upstream.npy (B, K) for none
//     writes loss.npy, dlogits.npy
//   layers_losses_optim_oracle mse DIR [reduction=...]
//     reads  prediction.npy, target.npy (same shape), upstream.npy for none
//     writes loss.npy, dprediction.npy, dtarget.npy
//   layers_losses_optim_oracle activation DIR name=sigmoid|tanh|leaky_relu|relu [slope=F]
//     reads  x.npy, upstream.npy (x's shape): backward of Σ upstream ⊙ y
//     writes y.npy, dx.npy
//   layers_losses_optim_oracle penalty DIR l1=F l2=F
//     reads  0.weight.npy, 0.bias.npy, 2.weight.npy, 2.bias.npy: backward of l1·Σ|w| + l2·Σw² over the weights
//     writes penalty.npy, grad_NAME.npy for every parameter (biases get zeros)
//   layers_losses_optim_oracle optim DIR name=sgd|adam|adamw steps=N lr=F [momentum= dampening= nesterov=0|1
//                              weight_decay= beta1= beta2= eps= amsgrad=0|1 clip=F]
//     reads  x.npy (B, 6), labels.npy (B) and the parameters NAME.npy of the MLP
//            6-5-3 (Linear, Tanh, Linear; names 0.weight (5, 6), 0.bias, 2.weight (3, 5), 2.bias)
//     runs   N iterations of zero_grad; cross-entropy; backward; [clip_grad_norm]; step
//     writes step<k>_param_NAME.npy after each step k, step<k>_norm.npy when clipping
//   layers_losses_optim_oracle schedule DIR name=step|multistep|exponential|cosine|plateau steps=N lr=F
//                  [step_size= gamma= milestones=a,b t_max= eta_min= factor= patience= threshold=
//                   cooldown= min_lr= warmup= start_factor=]
//     reads  metrics.npy (N) for plateau
//     writes lrs.npy (N+1): the rate before each step() and after the last
//
// Exit status: 0 on success, 1 when a file is missing or malformed or xgrad throws, 2 on a usage error.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/activations.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"
#include "losses/binary_cross_entropy.hpp"
#include "losses/mse.hpp"
#include "losses/penalties.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/lr_schedule.hpp"
#include "optim/sgd.hpp"
#include "tests/oracles/npy_io.hpp"

namespace {

using xg::Array;
using xg::Tensor;
using xg::oracle::load_floats;
using xg::oracle::load_labels;
using xg::oracle::save;
using xg::oracle::UsageError;

std::vector<float> load_vector(const std::string& path) {
  const Array a = load_floats(path);
  return std::vector<float>(a.begin(), a.end());
}

// KEY=VALUE words, with typed getters that insist on the whole word being used.
class Options {
 public:
  explicit Options(const std::vector<std::string>& words) {
    for (const std::string& w : words) {
      const auto eq = w.find('=');
      if (eq == std::string::npos) throw UsageError("'" + w + "' is not KEY=VALUE");
      values_[w.substr(0, eq)] = w.substr(eq + 1);
    }
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    const auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  double number(const std::string& key, double fallback) const {
    const auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size()) throw UsageError(key + ": '" + it->second + "' is not a number");
    return v;
  }
  bool flag(const std::string& key) const { return number(key, 0) != 0; }

 private:
  std::map<std::string, std::string> values_;
};

// Σ upstream ⊙ t: a scalar whose gradient with respect to t is `upstream`.
Tensor weighted(const Tensor& t, const std::string& dir) { return xg::sum(xg::mul(t, Tensor(load_floats(dir + "/upstream.npy")))); }

void run_ce(const std::string& dir, const Options& o) {
  Tensor logits(load_floats(dir + "/logits.npy"), true);
  xg::CrossEntropyOptions ce;
  ce.label_smoothing = float(o.number("smoothing", 0));
  ce.reduction = xg::parse_reduction(o.text("reduction", "mean"));
  if (o.flag("weighted")) ce.weight = load_vector(dir + "/weight.npy");
  Tensor loss = xg::cross_entropy(logits, load_labels(dir + "/labels.npy"), ce);
  (ce.reduction == xg::Reduction::None ? weighted(loss, dir) : loss).backward();
  save(dir + "/loss.npy", loss.value());
  save(dir + "/dlogits.npy", logits.grad());
}

void run_bce(const std::string& dir, const Options& o) {
  Tensor logits(load_floats(dir + "/logits.npy"), true);
  xg::BceOptions bce;
  bce.reduction = xg::parse_reduction(o.text("reduction", "mean"));
  if (o.flag("pos_weighted")) bce.pos_weight = load_vector(dir + "/pos_weight.npy");
  Tensor loss = xg::bce_with_logits(logits, load_floats(dir + "/targets.npy"), bce);
  (bce.reduction == xg::Reduction::None ? weighted(loss, dir) : loss).backward();
  save(dir + "/loss.npy", loss.value());
  save(dir + "/dlogits.npy", logits.grad());
}

void run_mse(const std::string& dir, const Options& o) {
  Tensor prediction(load_floats(dir + "/prediction.npy"), true), target(load_floats(dir + "/target.npy"), true);
  const xg::Reduction r = xg::parse_reduction(o.text("reduction", "mean"));
  Tensor loss = xg::mse(prediction, target, r);
  (r == xg::Reduction::None ? weighted(loss, dir) : loss).backward();
  save(dir + "/loss.npy", loss.value());
  save(dir + "/dprediction.npy", prediction.grad());
  save(dir + "/dtarget.npy", target.grad());
}

void run_activation(const std::string& dir, const Options& o) {
  Tensor x(load_floats(dir + "/x.npy"), true);
  const std::string name = o.text("name", "");
  std::shared_ptr<xg::Module> act = name == "leaky_relu" ? std::make_shared<xg::LeakyReLU>(float(o.number("slope", 0.01)))
                                                         : xg::make_activation(name);
  Tensor y = act->forward(x);
  weighted(y, dir).backward();
  save(dir + "/y.npy", y.value());
  save(dir + "/dx.npy", x.grad());
}

// The MLP 6-5-3 (Linear, Tanh, Linear) with the parameters in DIR.
std::shared_ptr<xg::Sequential> load_mlp(const std::string& dir) {
  xg::Rng rng(0);
  auto model = std::make_shared<xg::Sequential>();
  model->add(std::make_shared<xg::Linear>(6, 5, rng));
  model->add(std::make_shared<xg::Tanh>());
  model->add(std::make_shared<xg::Linear>(5, 3, rng));
  for (auto& [name, parameter] : model->named_parameters()) {
    Array loaded = load_floats(dir + "/" + name + ".npy");
    if (loaded.shape() != parameter.value().shape()) throw xg::InputError(dir + "/" + name + ".npy: wrong shape");
    Tensor p = parameter;
    p.value() = std::move(loaded);
  }
  return model;
}

void run_penalty(const std::string& dir, const Options& o) {
  auto model = load_mlp(dir);
  const auto weights = xg::weights_only(model->named_parameters());
  Tensor penalty = xg::add(xg::scale(xg::l1_penalty(weights), float(o.number("l1", 0))),
                           xg::scale(xg::l2_penalty(weights), float(o.number("l2", 0))));
  penalty.backward();
  save(dir + "/penalty.npy", penalty.value());
  for (const auto& [name, p] : model->named_parameters()) save(dir + "/grad_" + name + ".npy", p.grad());
}

void run_optim(const std::string& dir, const Options& o) {
  auto model = load_mlp(dir);
  const Tensor x(load_floats(dir + "/x.npy"));
  const auto labels = load_labels(dir + "/labels.npy");
  const std::string name = o.text("name", "");
  const float lr = float(o.number("lr", 0.01));
  std::unique_ptr<xg::Optimizer> optimizer;
  if (name == "sgd") {
    xg::SGDOptions s;
    s.momentum = float(o.number("momentum", 0));
    s.dampening = float(o.number("dampening", 0));
    s.nesterov = o.flag("nesterov");
    s.weight_decay = float(o.number("weight_decay", 0));
    optimizer = std::make_unique<xg::SGD>(model->parameters(), lr, s);
  } else if (name == "adam" || name == "adamw") {
    xg::AdamOptions a;
    a.beta1 = float(o.number("beta1", 0.9));
    a.beta2 = float(o.number("beta2", 0.999));
    a.eps = float(o.number("eps", 1e-8));
    a.weight_decay = float(o.number("weight_decay", name == "adamw" ? 0.01 : 0.0));
    a.amsgrad = o.flag("amsgrad");
    if (name == "adam") optimizer = std::make_unique<xg::Adam>(model->parameters(), lr, a);
    else optimizer = std::make_unique<xg::AdamW>(model->parameters(), lr, a);
  } else {
    throw UsageError("name must be sgd, adam or adamw");
  }
  const double clip = o.number("clip", 0);
  const std::size_t steps = std::size_t(o.number("steps", 10));
  for (std::size_t k = 1; k <= steps; ++k) {
    optimizer->zero_grad();
    xg::softmax_cross_entropy(model->forward(x), labels).backward();
    const std::string prefix = dir + "/step" + std::to_string(k) + "_";
    if (clip > 0) {
      Array norm = Array::from_shape({});
      norm() = float(xg::clip_grad_norm(model->parameters(), clip));
      save(prefix + "norm.npy", norm);
    }
    optimizer->step();
    for (const auto& [pname, p] : model->named_parameters()) save(prefix + "param_" + pname + ".npy", p.value());
  }
}

std::vector<std::size_t> parse_milestones(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::stoul(item));
  return out;
}

void run_schedule(const std::string& dir, const Options& o) {
  const std::string name = o.text("name", "");
  const double lr = o.number("lr", 0.1);
  std::unique_ptr<xg::LRSchedule> s;
  if (name == "step") s = std::make_unique<xg::StepLR>(lr, std::size_t(o.number("step_size", 1)), o.number("gamma", 0.1));
  else if (name == "multistep") s = std::make_unique<xg::MultiStepLR>(lr, parse_milestones(o.text("milestones", "")), o.number("gamma", 0.1));
  else if (name == "exponential") s = std::make_unique<xg::ExponentialLR>(lr, o.number("gamma", 0.9));
  else if (name == "cosine") s = std::make_unique<xg::CosineAnnealingLR>(lr, std::size_t(o.number("t_max", 10)), o.number("eta_min", 0));
  else if (name == "plateau") {
    xg::PlateauOptions p;
    p.factor = o.number("factor", 0.1);
    p.patience = std::size_t(o.number("patience", 10));
    p.threshold = o.number("threshold", 1e-4);
    p.cooldown = std::size_t(o.number("cooldown", 0));
    p.min_lr = o.number("min_lr", 0);
    s = std::make_unique<xg::ReduceLROnPlateau>(lr, p);
  } else {
    throw UsageError("unknown schedule '" + name + "'");
  }
  if (o.number("warmup", 0) > 0) {
    s = std::make_unique<xg::LinearWarmup>(std::move(s), std::size_t(o.number("warmup", 0)), o.number("start_factor", 1.0 / 3));
  }
  const std::size_t steps = std::size_t(o.number("steps", 30));
  Array metrics;
  if (name == "plateau") metrics = load_floats(dir + "/metrics.npy");
  Array lrs = Array::from_shape({steps + 1});
  for (std::size_t t = 0; t < steps; ++t) {
    lrs(t) = float(s->lr());
    if (name == "plateau") s->step(double(metrics(t)));
    else s->step();
  }
  lrs(steps) = float(s->lr());
  save(dir + "/lrs.npy", lrs);
}

int usage() {
  std::cerr << "usage: layers_losses_optim_oracle ce|bce|mse|activation|penalty|optim|schedule DIR [KEY=VALUE...]\n"
               "See the comment at the top of layers_losses_optim_oracle.cpp.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) return usage();
  try {
    const std::string& command = args[0];
    const std::string& dir = args[1];
    const Options options(std::vector<std::string>(args.begin() + 2, args.end()));
    if (command == "ce") run_ce(dir, options);
    else if (command == "bce") run_bce(dir, options);
    else if (command == "mse") run_mse(dir, options);
    else if (command == "activation") run_activation(dir, options);
    else if (command == "penalty") run_penalty(dir, options);
    else if (command == "optim") run_optim(dir, options);
    else if (command == "schedule") run_schedule(dir, options);
    else return usage();
  } catch (const UsageError& e) {
    std::cerr << "layers_losses_optim_oracle: " << e.what() << "\n";
    return usage();
  } catch (const std::exception& e) {
    std::cerr << "layers_losses_optim_oracle: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
