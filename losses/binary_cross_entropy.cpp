#include "losses/binary_cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "losses/elementwise_loss.hpp"

namespace xg {

Tensor bce_with_logits(const Tensor& logits, const Array& targets, const BceOptions& o) {
  const Array& x = logits.value();
  if (x.shape() != targets.shape()) {
    throw std::invalid_argument("bce_with_logits: logits " + shape_string(x) + " and targets " +
                                shape_string(targets) + " differ in shape");
  }
  if (x.size() == 0) throw std::invalid_argument("bce_with_logits: empty input");
  const std::size_t columns = x.dimension() >= 1 ? x.shape()[x.dimension() - 1] : 1;
  if (o.pos_weight.size() > 1 && o.pos_weight.size() != columns) {
    throw std::invalid_argument("bce_with_logits: " + std::to_string(o.pos_weight.size()) +
                                " pos_weight values for " + std::to_string(columns) + " columns");
  }
  Array terms = Array::from_shape(x.shape());
  Array local = Array::from_shape(x.shape());
  const float *in = x.data(), *t = targets.data();
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float pw = o.pos_weight.empty() ? 1.0f : o.pos_weight[o.pos_weight.size() == 1 ? 0 : i % columns];
    const float e = std::exp(-std::fabs(in[i]));          // e^-|x| ≤ 1
    const float log1p_e = std::log1p(e);
    const float softplus_pos = std::max(in[i], 0.0f) + log1p_e;   // softplus(x)
    const float softplus_neg = std::max(-in[i], 0.0f) + log1p_e;  // softplus(-x)
    const float s = in[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);  // σ(x)
    terms.data()[i] = pw * t[i] * softplus_neg + (1.0f - t[i]) * softplus_pos;
    local.data()[i] = (1.0f - t[i]) * s - pw * t[i] * (1.0f - s);
  }
  return reduce_elementwise_loss("bce_with_logits", std::move(terms), std::move(local), o.reduction, {logits});
}

}  // namespace xg
