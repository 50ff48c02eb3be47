#pragma once
// Optimizer: updates a fixed list of parameters from their gradients.
// Per-parameter state (e.g. momentum) is indexed by the parameter's position
// in that list, never by address, so it can be saved and restored.
#include <vector>

#include "core/tensor.hpp"

namespace xg {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> parameters, float lr);
  virtual ~Optimizer() = default;

  // Sets every parameter's gradient to zero. Call before each backward():
  // gradients accumulate otherwise.
  void zero_grad();
  // One update from the current gradients.
  virtual void step() = 0;

  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  const std::vector<Tensor>& parameters() const { return parameters_; }

 protected:
  std::vector<Tensor> parameters_;
  float lr_;
};

}  // namespace xg
