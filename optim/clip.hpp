#pragma once
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// torch.nn.utils.clip_grad_norm_: the global L2 norm N of all the parameters'
// gradients taken together; if N > max_norm every gradient is scaled by
// max_norm / (N + 1e-6). Returns N (before clipping). max_norm > 0.
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace xg
