#pragma once
// Sigmoid + binary cross-entropy in one stable op, for a binary head with one
// output (torch.nn.functional.binary_cross_entropy_with_logits).
//
// logits x and targets y have the same shape, (B) or (B, K); y in [0, 1].
//   loss = pw · y · softplus(-x) + (1 - y) · softplus(x)
//        = -[pw · y · log σ(x) + (1 - y) · log(1 - σ(x))]
//   softplus(x) = max(x, 0) + log(1 + e^-|x|)     (finite for any finite x)
//   d loss / dx = (1 - y) σ(x) - pw · y · (1 - σ(x))
// pos_weight pw is one value per column (K values, broadcast over the rows, as
// PyTorch broadcasts it over the last dimension) or a single value; empty: 1.
#include <vector>

#include "core/tensor.hpp"
#include "losses/reduction.hpp"

namespace xg {

struct BceOptions {
  std::vector<float> pos_weight;  // empty: 1
  Reduction reduction = Reduction::Mean;
};

// Mean: averaged over every element; Sum: summed; None: x's shape.
// Throws std::invalid_argument if the shapes differ or pos_weight does not fit.
Tensor bce_with_logits(const Tensor& logits, const Array& targets, const BceOptions& options = {});

}  // namespace xg
