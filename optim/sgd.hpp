#pragma once
#include "optim/optimizer.hpp"

namespace xg {

// Stochastic gradient descent with momentum, as torch.optim.SGD computes it:
//   momentum == 0:  p ← p - lr · g
//   otherwise:      v ← g                  (first step)
//                   v ← momentum · v + g   (later steps)
//                   p ← p - lr · v
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, float lr, float momentum = 0.0f);
  void step() override;

  float momentum() const { return momentum_; }
  // One velocity per parameter, by position; empty before the first step.
  const std::vector<Array>& velocities() const { return velocity_; }

 private:
  float momentum_;
  std::vector<Array> velocity_;
};

}  // namespace xg
