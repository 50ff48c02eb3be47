#include "optim/sgd.hpp"

#include <stdexcept>

namespace xg {

SGD::SGD(std::vector<Tensor> parameters, float lr, float momentum)
    : SGD(std::move(parameters), lr, SGDOptions{momentum, 0.0f, false, 0.0f}) {}

SGD::SGD(std::vector<Tensor> parameters, float lr, const SGDOptions& options)
    : Optimizer(std::move(parameters), lr), options_(options) {
  if (options_.nesterov && (options_.momentum <= 0.0f || options_.dampening != 0.0f)) {
    throw std::invalid_argument("SGD: Nesterov momentum needs momentum > 0 and zero dampening");
  }
}

void SGD::step() {
  const float mu = options_.momentum, tau = options_.dampening, wd = options_.weight_decay;
  const bool first = velocity_.empty();
  if (mu != 0.0f && first) velocity_.resize(parameters_.size());
  // Each new weight is checked for inf/NaN as it is written (while it is in a
  // register), so the training loop needs no second pass over all the weights.
  std::uint32_t nonfinite = 0;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    const float* grad = p.grad().data();
    float* w = p.data();
    const std::size_t n = p.size();
    if (mu == 0.0f) {
      for (std::size_t j = 0; j < n; ++j) {
        w[j] -= lr_ * (grad[j] + wd * w[j]);
        nonfinite |= nonfinite_bit(w[j]);
      }
      continue;
    }
    if (first) velocity_[i] = Array::from_shape(p.value().shape());
    float* v = velocity_[i].data();
    for (std::size_t j = 0; j < n; ++j) {
      const float g = grad[j] + wd * w[j];
      v[j] = first ? g : mu * v[j] + (1.0f - tau) * g;
      w[j] -= lr_ * (options_.nesterov ? g + mu * v[j] : v[j]);
      nonfinite |= nonfinite_bit(w[j]);
    }
  }
  step_finite_ = nonfinite == 0;
}

Optimizer::State SGD::state() const {
  State out;
  for (std::size_t i = 0; i < velocity_.size(); ++i) out.emplace_back("velocity." + std::to_string(i), velocity_[i]);
  return out;
}

void SGD::load_state(const State& state) {
  velocity_.clear();
  if (state.empty()) return;  // saved before the first step
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    velocity_.push_back(find_state(state, "velocity." + std::to_string(i), parameters_[i].value().shape()));
  }
}

}  // namespace xg
