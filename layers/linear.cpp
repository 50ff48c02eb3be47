#include "layers/linear.hpp"

#include <cmath>
#include <stdexcept>

#include "core/ops.hpp"

namespace xg {

Linear::Linear(std::size_t in_features, std::size_t out_features, Rng& rng) : Module("Linear") {
  const float bound = 1.0f / std::sqrt(float(in_features));
  Array w = Array::from_shape({out_features, in_features});
  for (float& v : w) v = rng.uniform(-bound, bound);
  Array b = Array::from_shape({out_features});
  for (float& v : b) v = rng.uniform(-bound, bound);
  weight = register_parameter("weight", Tensor(std::move(w), true));
  bias = register_parameter("bias", Tensor(std::move(b), true));
}

Tensor Linear::forward(const Tensor& x) { return forward(x, false); }

Tensor Linear::forward(const Tensor& x, bool relu_follows) {
  if (x.rank() != 2 || x.dim(1) != in_features()) {
    const std::string got = x.rank() == 2 ? std::to_string(x.dim(1)) : "shape " + shape_string(x.value());
    throw std::invalid_argument(label() + " expects " + std::to_string(in_features()) + " input features, got " + got);
  }
  return linear(x, weight, bias, relu_follows);
}

std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_features()) + " -> " + std::to_string(out_features()) + ")";
}

}  // namespace xg
