#pragma once
#include "core/tensor.hpp"
#include "losses/reduction.hpp"

namespace xg {

// Mean squared error (torch.nn.functional.mse_loss), prediction and target of the same shape:
//   term = (p - t)²,   d term / dp = 2 (p - t),   d term / dt = -2 (p - t)
// Mean: over every element; Sum; None: the terms, p's shape.
Tensor mse(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace xg
