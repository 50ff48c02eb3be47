#include "losses/softmax_cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace xg {

namespace {

void require_logits(const char* op, const Array& logits) {
  if (logits.dimension() != 2 || logits.shape()[1] == 0) {
    throw std::invalid_argument(std::string(op) + ": logits must be (batch, classes), got shape " + shape_string(logits));
  }
}

// For row z (C values): writes exp(z_c - m) into e and returns m and Σ_c exp(z_c - m).
struct RowExp {
  float max;
  float sum;
};
RowExp exp_shifted(const float* z, std::size_t C, float* e) {
  const float m = *std::max_element(z, z + C);
  float s = 0.0f;
  for (std::size_t c = 0; c < C; ++c) {
    e[c] = std::exp(z[c] - m);  // ≤ 1: no overflow
    s += e[c];                  // ≥ 1: the max contributes exp(0) = 1, so log(s) is finite
  }
  return {m, s};
}

}  // namespace

Array softmax(const Array& logits) {
  require_logits("softmax", logits);
  const std::size_t B = logits.shape()[0], C = logits.shape()[1];
  Array p = Array::from_shape({B, C});
  for (std::size_t i = 0; i < B; ++i) {
    float* row = p.data() + i * C;
    const RowExp r = exp_shifted(logits.data() + i * C, C, row);
    for (std::size_t c = 0; c < C; ++c) row[c] /= r.sum;
  }
  return p;
}

Array log_softmax(const Array& logits) {
  require_logits("log_softmax", logits);
  const std::size_t B = logits.shape()[0], C = logits.shape()[1];
  Array out = Array::from_shape({B, C});
  for (std::size_t i = 0; i < B; ++i) {
    const float* z = logits.data() + i * C;
    float* row = out.data() + i * C;
    const RowExp r = exp_shifted(z, C, row);
    const float log_sum = std::log(r.sum);
    for (std::size_t c = 0; c < C; ++c) row[c] = (z[c] - r.max) - log_sum;
  }
  return out;
}

// ---- softmax_cross_entropy ---------------------------------------------------
// backward: dz += dloss · (p - onehot)/B, where (p - onehot)/B was saved by forward
static void softmax_cross_entropy_backward(Node& n) {
  Node& logits = *n.parents[0];
  if (!logits.requires_grad) return;
  logits.grad_buffer() += n.grad.data()[0] * n.saved;
}

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels) {
  const Array& z = logits.value();
  require_logits("softmax_cross_entropy", z);
  const std::size_t B = z.shape()[0], C = z.shape()[1];
  if (labels.size() != B) {
    throw std::invalid_argument("softmax_cross_entropy: " + std::to_string(B) + " rows of logits but " +
                                std::to_string(labels.size()) + " labels");
  }
  Array grad = Array::from_shape({B, C});  // becomes (p - onehot) / B
  double total = 0.0;
  for (std::size_t i = 0; i < B; ++i) {
    const std::uint32_t y = labels[i];
    if (y >= C) {
      throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(y) + " of row " + std::to_string(i) +
                                  " is out of range for " + std::to_string(C) + " classes");
    }
    const float* zi = z.data() + i * C;
    float* gi = grad.data() + i * C;
    const RowExp r = exp_shifted(zi, C, gi);
    // -log p_y = logsumexp(z) - z_y = m + log(s) - z_y
    total += double(r.max) + std::log(double(r.sum)) - double(zi[y]);
    const float inv = 1.0f / (r.sum * float(B));
    for (std::size_t c = 0; c < C; ++c) gi[c] *= inv;  // p_c / B
    gi[y] -= 1.0f / float(B);                          // - onehot / B
  }
  Array loss = Array::from_shape({});
  loss() = float(total / double(B));
  Tensor out = make_result("softmax_cross_entropy", std::move(loss), {logits}, softmax_cross_entropy_backward);
  if (out.requires_grad()) out.node()->saved = std::move(grad);
  return out;
}

}  // namespace xg
