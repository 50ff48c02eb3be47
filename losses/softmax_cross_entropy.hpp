#pragma once
// Softmax and cross-entropy for a classifier's logits.
//
// logits z (B, C): one row per item, one column per class; labels y (B), each in [0, C).
//
//   softmax(z)_c      = exp(z_c - m) / Σ_k exp(z_k - m)        m = max_k z_k
//   log_softmax(z)_c  = (z_c - m) - log Σ_k exp(z_k - m)       (log-sum-exp)
//
// Subtracting the row's maximum m changes nothing mathematically (it cancels
// between numerator and denominator) but keeps every exp() in (0, 1], so
// logits of ±1e4 give finite results instead of inf/inf = NaN.
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace xg {

// Row-wise softmax of (B, C) logits -> (B, C) probabilities.
Array softmax(const Array& logits);
// Row-wise log-softmax of (B, C) logits -> (B, C), finite for any finite logits.
Array log_softmax(const Array& logits);

// The fused loss: mean over the batch of -log softmax(z)[y].
//   loss = (1/B) Σ_i [ logsumexp(z_i) - z_i,y_i ]
//   d loss / d z_i = (softmax(z_i) - onehot(y_i)) / B
// Both are computed in one pass over the logits; the gradient is kept for
// backward. Throws std::invalid_argument when a label is not in [0, C) or the
// number of labels is not B.
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels);

}  // namespace xg
