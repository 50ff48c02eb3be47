#include "optim/sgd.hpp"

namespace xg {

SGD::SGD(std::vector<Tensor> parameters, float lr, float momentum)
    : Optimizer(std::move(parameters), lr), momentum_(momentum) {}

void SGD::step() {
  const bool first = velocity_.empty();
  if (momentum_ != 0.0f && first) velocity_.resize(parameters_.size());
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    const float* g = p.grad().data();
    float* w = p.data();
    const std::size_t n = p.size();
    if (momentum_ == 0.0f) {
      for (std::size_t j = 0; j < n; ++j) w[j] -= lr_ * g[j];
      continue;
    }
    if (first) velocity_[i] = Array::from_shape(p.value().shape());
    float* v = velocity_[i].data();
    for (std::size_t j = 0; j < n; ++j) {
      v[j] = first ? g[j] : momentum_ * v[j] + g[j];
      w[j] -= lr_ * v[j];
    }
  }
}

}  // namespace xg
