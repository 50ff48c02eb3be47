#pragma once
// Activation modules, each a thin wrapper over its op in core/ops.hpp.
#include <memory>
#include <string>

#include "layers/module.hpp"

namespace xg {

// y = max(x, 0), no parameters.
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU"; }
};

// y = 1 / (1 + e^-x)
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sigmoid"; }
};

// y = tanh(x)
class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Tanh"; }
};

// y = x if x > 0, else slope · x   (torch.nn.LeakyReLU, default slope 0.01)
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float slope = 0.01f) : Module("LeakyReLU"), slope_(slope) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  float slope() const { return slope_; }

 private:
  float slope_;
};

// The activation named "relu", "tanh", "sigmoid" or "leaky_relu" (slope 0.01).
// Throws std::invalid_argument for any other name.
std::shared_ptr<Module> make_activation(const std::string& name);

}  // namespace xg
