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
#include "losses/reduction.hpp"

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
// It is cross_entropy with the default options (one kernel serves both; the
// node is named "softmax_cross_entropy").
Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels);

// torch.nn.functional.cross_entropy's options for class-index targets.
struct CrossEntropyOptions {
  float label_smoothing = 0.0f;  // ε in [0, 1]
  std::vector<float> weight;     // per-class weights w (C); empty: all 1
  Reduction reduction = Reduction::Mean;
};

// Cross-entropy with PyTorch's exact semantics. With ℓ_ic = -log softmax(z_i)_c
// (log-sum-exp stable), C classes and W = Σ_c w_c, each row's term is
//   loss_i = (1-ε) w_{y_i} ℓ_{i,y_i} + (ε/C) Σ_c w_c ℓ_ic
//   d loss_i / d z_i = ((1-ε) w_{y_i} + ε W / C) softmax(z_i) - (1-ε) w_{y_i} onehot(y_i) - (ε/C) w
// reduction Mean: Σ_i loss_i / Σ_i w_{y_i}  (B without weights — PyTorch
// normalises by the weights of the targets, smoothing term included); Sum:
// Σ_i loss_i; None: the (B) vector of loss_i.
// With the default options (ε = 0, no weights, Mean) the gradient is
// (softmax(z_i) - onehot(y_i)) / B and the result is softmax_cross_entropy's,
// bit for bit. Throws std::invalid_argument for a bad label, label count, ε or
// weight count.
Tensor cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels,
                     const CrossEntropyOptions& options);

}  // namespace xg
