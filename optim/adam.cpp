#include "optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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
  const Array& step = find_state(state, "step", {2});
  t_ = (std::size_t(step(0)) << 20) + std::size_t(step(1));
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const std::string n = std::to_string(i);
    m_.push_back(find_state(state, "m." + n, parameters_[i].value().shape()));
    v_.push_back(find_state(state, "v." + n, parameters_[i].value().shape()));
    if (options_.amsgrad) v_max_.push_back(find_state(state, "v_max." + n, parameters_[i].value().shape()));
  }
}

}  // namespace xg
