#include "train/forensics.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "core/parallel.hpp"
#include "io/number_text.hpp"

namespace xg {

namespace {
std::string diverged_message(std::size_t epoch, std::size_t step, float lr, float loss, const std::string& reason) {
  std::ostringstream s;
  s << "training diverged at epoch " << epoch << ", step " << step << ": ";
  if (reason.empty()) s << "loss is " << format_number(loss);  // "nan", never the C library's "-nan"
  else s << reason;
  s << " at lr " << format_number(lr);
  return s.str();
}

}  // namespace

TrainingDiverged::TrainingDiverged(std::size_t epoch_, std::size_t step_, float lr_, float loss_, double last_good,
                                   const std::string& reason)
    : std::runtime_error(diverged_message(epoch_, step_, lr_, loss_, reason)),
      epoch(epoch_),
      step(step_),
      lr(lr_),
      loss(loss_),
      last_good_loss(last_good) {}


GradientNorms gradient_norms(const Module& model) {
  std::map<std::string, std::string> labels;  // child name -> label ("0" -> "Linear#0")
  for (const auto& [name, child] : model.children()) labels[name] = child->label();
  GradientNorms norms;
  double total = 0.0;
  for (const auto& [name, p] : model.named_parameters()) {
    const std::size_t dot = name.rfind('.');
    const std::string prefix = dot == std::string::npos ? std::string(model.label()) : name.substr(0, dot);
    const auto it = labels.find(prefix);
    const std::string layer = it == labels.end() ? prefix : it->second;
    const double sum = p.has_grad() ? sum_of_squares(p.grad().data(), p.size()) : 0.0;
    total += sum;
    if (norms.layers.empty() || norms.layers.back().first != layer) norms.layers.push_back({layer, 0.0});
    norms.layers.back().second += sum;  // squared until the end
  }
  for (auto& layer : norms.layers) layer.second = std::sqrt(layer.second);
  norms.global = std::sqrt(total);
  return norms;
}

// On the pool's threads, thread t reading slice t of each gradient (parallel_pieces):
// the slice its weight-gradient GEMM wrote and its optimizer step will read.
bool gradients_finite(const std::vector<Tensor>& parameters) {
  std::size_t total = 0;
  for (const Tensor& p : parameters) total += p.has_grad() ? p.size() : 0;
  std::atomic<bool> finite{true};
  parallel_pieces(pass_threads(static_cast<long long>(total), total), [&](int piece, int pieces) {
    for (const Tensor& p : parameters) {
      if (!p.has_grad()) continue;
      const auto [begin, end] = thread_slice(p.size(), piece, pieces);
      if (!all_finite(p.grad().data() + begin, end - begin)) finite.store(false, std::memory_order_relaxed);
    }
  });
  return finite.load();
}

bool weights_finite(const std::vector<Tensor>& parameters) {
  for (const Tensor& p : parameters)
    if (!all_finite(p.data(), p.size())) return false;
  return true;
}

float max_abs_finite(const Tensor& t, std::size_t* nonfinite) {
  float m = 0.0f;
  std::size_t bad = 0;
  const float* v = t.data();
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(v[i])) {
      ++bad;
      continue;
    }
    m = std::max(m, std::fabs(v[i]));
  }
  if (nonfinite) *nonfinite = bad;
  return m;
}

void record_forensics(TrainingDiverged& e, const Tensor& logits, const Module& model, bool gradients_kept) {
  e.max_abs_logit = max_abs_finite(logits, &e.nonfinite_logits);
  e.gradients_kept = gradients_kept;
  if (!gradients_kept) return;
  const GradientNorms norms = gradient_norms(model);
  e.grad_norm = norms.global;
  e.layer_grad_norms = norms.layers;
}


std::string format_divergence(const TrainingDiverged& e) {
  std::string text = "xgrad: " + std::string(e.what()) + "\n";
  if (std::isnan(e.last_good_loss))
    text += "  last good loss    none (the first step already failed)\n";
  else if (e.step == 1)
    text += "  last good loss    " + format_number(e.last_good_loss) + " (the last step of epoch " + std::to_string(e.epoch - 1) + ")\n";
  else
    text += "  last good loss    " + format_number(e.last_good_loss) + " (step " + std::to_string(e.step - 1) + ")\n";
  if (e.nonfinite_logits && e.max_abs_logit == 0.0f)
    text += "  max |logit|       inf or nan (all " + std::to_string(e.nonfinite_logits) + " logits)";
  else
    text += "  max |logit|       " + format_number(e.max_abs_logit);
  if (e.nonfinite_logits && e.max_abs_logit != 0.0f)
    text += " (of the finite ones; " + std::to_string(e.nonfinite_logits) + " logits were inf or nan)";
  if (!e.gradients_kept)
    text += "\n  gradient norm     not kept (SGD updated the weights inside the backward pass)\n";
  else
    text += "\n  gradient norm     " + format_number(e.grad_norm) + " (global L2, at this step)\n";
  for (const auto& [layer, norm] : e.layer_grad_norms) {
    std::string name = layer;
    name.resize(std::max<std::size_t>(name.size(), 15), ' ');
    text += "    " + name + " " + format_number(norm) + "\n";
  }
  return text + "hint: " + divergence_hint(e) + "\n";
}

std::string divergence_hint(const TrainingDiverged& e) {
  // One significant digit, at least 10x below the rate that failed: 7938.93 -> 700.
  const double tenth = double(e.lr) / 10.0;
  const double unit = std::pow(10.0, std::floor(std::log10(tenth)));
  return "try --lr " + format_number(std::floor(tenth / unit) * unit) +
         " or lower, or run `xgrad lr-find` with the same flags to pick a rate";
}

}  // namespace xg
