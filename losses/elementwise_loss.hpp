#pragma once
// Shared by the elementwise losses (bce_with_logits, mse): reduces per-element
// terms and records a backward that scales the saved local derivative.
#include "core/tensor.hpp"
#include "losses/reduction.hpp"

namespace xg {

// terms (any shape) and local = d term / d input (same shape). Returns the reduced
// loss; its backward adds dloss · local (Mean folds in 1/N) into inputs[0] and,
// when `second_sign` is nonzero, second_sign · dloss · local into inputs[1].
Tensor reduce_elementwise_loss(const char* op, Array terms, Array local, Reduction reduction,
                               std::initializer_list<Tensor> inputs, float second_sign = 0.0f);

}  // namespace xg
