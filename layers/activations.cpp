#include "layers/activations.hpp"

#include <sstream>
#include <stdexcept>

#include "core/ops.hpp"

namespace xg {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return xg::tanh(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }

std::string LeakyReLU::describe() const {
  std::ostringstream s;
  s << "LeakyReLU(" << slope_ << ")";
  return s.str();
}

std::shared_ptr<Module> make_activation(const std::string& name) {
  if (name == "relu") return std::make_shared<ReLU>();
  if (name == "tanh") return std::make_shared<Tanh>();
  if (name == "sigmoid") return std::make_shared<Sigmoid>();
  if (name == "leaky_relu") return std::make_shared<LeakyReLU>();
  throw std::invalid_argument("unknown activation '" + name + "' (relu, tanh, sigmoid or leaky_relu)");
}

}  // namespace xg
