#include "optim/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace xg {

Optimizer::Optimizer(std::vector<Tensor> parameters, float lr) : parameters_(std::move(parameters)), lr_(lr) {}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) p.zero_grad();
}

void Optimizer::end_update_in_backward() {
  for (Tensor& p : parameters_) {
    p.node()->sgd_step = nullptr;
    p.node()->sgd_velocity = nullptr;
    p.node()->updated = false;
  }
}

bool Optimizer::step_left_parameters_finite() const {
  for (const Tensor& p : parameters_)
    if (!all_finite(p.data(), p.size())) return false;
  return true;
}

void Optimizer::load_state(const State& state) {
  if (!state.empty()) throw InputError("optimizer state '" + state.front().first + "' does not belong to this optimizer");
}

const Array& find_state(const Optimizer::State& state, const std::string& name, const Array::shape_type& shape) {
  for (const auto& [key, array] : state) {
    if (key != name) continue;
    if (!std::equal(array.shape().begin(), array.shape().end(), shape.begin(), shape.end())) {
      throw InputError("optimizer state '" + name + "' has shape " + shape_string(array) + ", the parameter has " +
                       shape_string(Shape(shape.begin(), shape.end())));
    }
    for (std::size_t k = 0; k < array.size(); ++k) {
      if (!std::isfinite(array.data()[k])) throw InputError("optimizer state '" + name + "' holds a NaN or infinite value");
    }
    return array;
  }
  throw InputError("optimizer state '" + name + "' is missing");
}

}  // namespace xg
