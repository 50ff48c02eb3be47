#include "train/diagnostics.hpp"

#include <cmath>
#include <cstdio>
#include <limits>


namespace xg {

namespace {

double l2_norm(const float* a, std::size_t n) { return std::sqrt(sum_of_squares(a, n)); }

}  // namespace

Diagnostics::Diagnostics(const Module& model) {
  for (auto& [name, p] : model.named_parameters())
    if (p.rank() >= 2) layers_.push_back({name, p, {}, 0.0, 0.0, {}, false});
}

void Diagnostics::start_epoch() {
  steps_ = 0;
  for (Watched& w : layers_) {
    w.grad_norm_sum = w.ratio_sum = 0.0;
    w.active.clear();
    w.has_relu = false;
  }
}

void Diagnostics::after_backward(const Tensor& loss) {
  for (Watched& w : layers_) {
    w.grad_norm_sum += l2_norm(w.weight.grad().data(), w.weight.size());
    w.before = w.weight.value();
  }
  // A ReLU whose input was made by an op that used a watched weight (linear's
  // and conv2d's parent 1) belongs to that layer. Unit j is column j of a
  // (B, N) output, channel j of a (B, N, H, W) one.
  for (Node* n : topological_order(loss.node())) {
    const std::size_t rank = n->value.dimension();
    if (std::string(n->op) != "relu" || !n->parents[0] || (rank != 2 && rank != 4)) continue;
    const Node* producer = n->parents[0].get();
    for (Watched& w : layers_) {
      if (producer->parents[1].get() != w.weight.node()) continue;
      const std::size_t rows = n->value.shape()[0], cols = n->value.shape()[1];
      const std::size_t pixels = rank == 4 ? n->value.shape()[2] * n->value.shape()[3] : 1;
      if (w.active.size() != cols) w.active.assign(cols, 0);
      w.has_relu = true;
      const float* y = n->value.data();
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
          for (std::size_t p = 0; p < pixels; ++p) w.active[c] |= y[(r * cols + c) * pixels + p] > 0.0f;
    }
  }
}

void Diagnostics::after_step() {
  for (Watched& w : layers_) {
    const float *now = w.weight.data(), *before = w.before.data();
    double change = 0.0;
    for (std::size_t i = 0; i < w.weight.size(); ++i) change += double(now[i] - before[i]) * double(now[i] - before[i]);
    const double norm = l2_norm(before, w.weight.size());
    w.ratio_sum += norm > 0.0 ? std::sqrt(change) / norm : 0.0;
  }
  ++steps_;
}

std::vector<LayerDiagnostics> Diagnostics::finish_epoch() const {
  std::vector<LayerDiagnostics> out;
  const double steps = steps_ ? double(steps_) : 1.0;
  for (const Watched& w : layers_) {
    LayerDiagnostics d;
    d.parameter = w.name;
    d.shape = Shape(w.weight.value().shape().begin(), w.weight.value().shape().end());
    d.weight_norm = l2_norm(w.weight.data(), w.weight.size());
    d.grad_norm = w.grad_norm_sum / steps;
    d.update_ratio = w.ratio_sum / steps;
    d.dead_relu = std::numeric_limits<double>::quiet_NaN();
    if (w.has_relu) {
      std::size_t dead = 0;
      for (std::uint8_t a : w.active) dead += !a;
      d.dead_relu = double(dead) / double(w.active.size());
    }
    out.push_back(d);
  }
  return out;
}

std::string format_diagnostics(const std::vector<LayerDiagnostics>& layers) {
  std::string text;
  char line[200];
  std::snprintf(line, sizeof line, "    %-10s %-12s %11s %11s %13s %10s\n", "layer", "shape", "weight_norm",
                "grad_norm", "update/weight", "dead_relu");
  text += line;
  for (const LayerDiagnostics& d : layers) {
    char dead[16] = "-";
    if (!std::isnan(d.dead_relu)) std::snprintf(dead, sizeof dead, "%.1f%%", 100.0 * d.dead_relu);
    std::snprintf(line, sizeof line, "    %-10s %-12s %11.4g %11.4g %13.3e %10s\n", d.parameter.c_str(),
                  shape_string(d.shape).c_str(), d.weight_norm, d.grad_norm, d.update_ratio, dead);
    text += line;
  }
  return text;
}

nlohmann::json diagnostics_json(const std::vector<LayerDiagnostics>& layers) {
  nlohmann::json out = nlohmann::json::array();
  for (const LayerDiagnostics& d : layers) {
    // JSON has no NaN: a layer without ReLU gets null, and so would a diverged norm.
    auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    out.push_back({{"parameter", d.parameter},
                   {"shape", d.shape},
                   {"weight_norm", number(d.weight_norm)},
                   {"grad_norm", number(d.grad_norm)},
                   {"update_ratio", number(d.update_ratio)},
                   {"dead_relu", number(d.dead_relu)}});
  }
  return out;
}

}  // namespace xg
