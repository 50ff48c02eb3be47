#pragma once
// Weight penalties to add to a loss: loss + λ₁ · l1_penalty(w) + λ₂ · l2_penalty(w).
// They cover a module's weights, not its biases: pass
// weights_only(model.named_parameters()).
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// The parameters whose name is "weight" or ends in ".weight" (PyTorch's names).
std::vector<Tensor> weights_only(const std::vector<std::pair<std::string, Tensor>>& named_parameters);

// Σ over the tensors of Σ |w|  -> scalar;  d/dw = sign(w)
Tensor l1_penalty(const std::vector<Tensor>& weights);
// Σ over the tensors of Σ w²  -> scalar;  d/dw = 2w   (Keras's l2: λ Σ w², not λ/2)
Tensor l2_penalty(const std::vector<Tensor>& weights);

}  // namespace xg
