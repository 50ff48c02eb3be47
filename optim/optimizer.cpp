#include "optim/optimizer.hpp"

namespace xg {

Optimizer::Optimizer(std::vector<Tensor> parameters, float lr) : parameters_(std::move(parameters)), lr_(lr) {}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) p.zero_grad();
}

}  // namespace xg
