#include "optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/error.hpp"

namespace xg {

Adam::Adam(std::vector<Tensor> parameters, float lr, const AdamOptions& options)
    : Adam(std::move(parameters), lr, options, false) {}

Adam::Adam(std::vector<Tensor> parameters, float lr, const AdamOptions& o, bool decoupled)
    : Optimizer(std::move(parameters), lr), options_(o), decoupled_(decoupled) {
  if (!(o.beta1 >= 0.0f && o.beta1 < 1.0f) || !(o.beta2 >= 0.0f && o.beta2 < 1.0f)) {
    throw std::invalid_argument("Adam: betas must be in [0, 1), got " + std::to_string(o.beta1) + ", " +
                                std::to_string(o.beta2));
  }
  if (!(o.eps >= 0.0f)) throw std::invalid_argument("Adam: eps must be >= 0");
}

void Adam::step() {
  const AdamOptions& o = options_;
  if (t_ == 0) {
    for (const Tensor& p : parameters_) {
      m_.push_back(xt::zeros<float>(p.value().shape()));
      v_.push_back(xt::zeros<float>(p.value().shape()));
      if (o.amsgrad) v_max_.push_back(xt::zeros<float>(p.value().shape()));
    }
  }
  ++t_;
  const double bias1 = 1.0 - std::pow(double(o.beta1), double(t_));
  const double bias2 = 1.0 - std::pow(double(o.beta2), double(t_));
  const float step_size = float(double(lr_) / bias1);
  const float inv_sqrt_bias2 = float(1.0 / std::sqrt(bias2));
  const float decay = decoupled_ ? 1.0f - lr_ * o.weight_decay : 1.0f;
  const float l2 = decoupled_ ? 0.0f : o.weight_decay;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    const float* grad = p.grad().data();
    float* w = p.data();
    float *m = m_[i].data(), *v = v_[i].data();
    float* v_max = o.amsgrad ? v_max_[i].data() : nullptr;
    for (std::size_t j = 0; j < p.size(); ++j) {
      const float g = grad[j] + l2 * w[j];
      w[j] *= decay;
      m[j] = o.beta1 * m[j] + (1.0f - o.beta1) * g;
      v[j] = o.beta2 * v[j] + (1.0f - o.beta2) * g * g;
      float second = v[j];
      if (v_max) second = v_max[j] = std::max(v_max[j], v[j]);
      w[j] -= step_size * m[j] / (std::sqrt(second) * inv_sqrt_bias2 + o.eps);
    }
  }
}

Optimizer::State Adam::state() const {
  State out;
  if (t_ == 0) return out;
  Array step = xt::zeros<float>({std::size_t(2)});  // t as two exact float halves: t = hi * 2^20 + lo
  step(0) = float(t_ >> 20);
  step(1) = float(t_ & ((std::size_t(1) << 20) - 1));
  out.emplace_back("step", step);
  for (std::size_t i = 0; i < m_.size(); ++i) {
    out.emplace_back("m." + std::to_string(i), m_[i]);
    out.emplace_back("v." + std::to_string(i), v_[i]);
    if (options_.amsgrad) out.emplace_back("v_max." + std::to_string(i), v_max_[i]);
  }
  return out;
}

void Adam::load_state(const State& state) {
  m_.clear();
  v_.clear();
  v_max_.clear();
  t_ = 0;
  if (state.empty()) return;  // saved before the first step
  // t as state() writes it: hi * 2^20 + lo, both whole floats, hi < 2^24 (exact in a float), lo < 2^20, t ≥ 1.
  const Array& step = find_state(state, "step", {2});
  const float hi = step(0), lo = step(1);
  if (!(hi >= 0.0f && hi < 16777216.0f && hi == std::floor(hi) && lo >= 0.0f && lo < 1048576.0f && lo == std::floor(lo)) ||
      (hi == 0.0f && lo == 0.0f)) {
    char shown[64];
    std::snprintf(shown, sizeof shown, "[%g, %g]", double(hi), double(lo));
    throw InputError("optimizer state 'step' must hold a step count t ≥ 1 as [t >> 20, t & 0xFFFFF] (two whole numbers), not " +
                     std::string(shown));
  }
  t_ = (std::size_t(hi) << 20) + std::size_t(lo);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const std::string n = std::to_string(i);
    m_.push_back(find_state(state, "m." + n, parameters_[i].value().shape()));
    v_.push_back(find_state(state, "v." + n, parameters_[i].value().shape()));
    if (options_.amsgrad) v_max_.push_back(find_state(state, "v_max." + n, parameters_[i].value().shape()));
  }
  // v (and v_max) average squared gradients: a negative one would take a square root of it.
  for (const std::vector<Array>* arrays : {&v_, &v_max_}) {
    for (std::size_t i = 0; i < arrays->size(); ++i) {
      const Array& a = (*arrays)[i];
      for (std::size_t k = 0; k < a.size(); ++k) {
        if (a.data()[k] < 0.0f) {
          throw InputError(std::string("optimizer state '") + (arrays == &v_ ? "v." : "v_max.") + std::to_string(i) +
                           "' holds a negative value; it averages squared gradients");
        }
      }
    }
  }
}

}  // namespace xg
