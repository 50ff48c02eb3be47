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

// ---- cross_entropy with options ---------------------------------------------------
// backward: a scalar loss gives dz += dloss · G, where forward saved G = d loss / d z;
// reduction None gives dz_i += dloss_i · G_i row by row.
static void cross_entropy_backward(Node& n) {
  Node& logits = *n.parents[0];
  if (!logits.requires_grad) return;
  if (n.value.dimension() == 0) {
    logits.grad_buffer() += n.grad.data()[0] * n.saved;
    return;
  }
  const std::size_t B = n.saved.shape()[0], C = n.saved.shape()[1];
  float* dz = logits.grad_buffer().data();
  const float *g = n.saved.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < B; ++i)
    for (std::size_t c = 0; c < C; ++c) dz[i * C + c] += dy[i] * g[i * C + c];
}

Tensor cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels,
                     const CrossEntropyOptions& o) {
  const Array& z = logits.value();
  require_logits("cross_entropy", z);
  const std::size_t B = z.shape()[0], C = z.shape()[1];
  if (labels.size() != B) {
    throw std::invalid_argument("cross_entropy: " + std::to_string(B) + " rows of logits but " +
                                std::to_string(labels.size()) + " labels");
  }
  if (!(o.label_smoothing >= 0.0f && o.label_smoothing <= 1.0f)) {
    throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1], got " +
                                std::to_string(o.label_smoothing));
  }
  if (!o.weight.empty() && o.weight.size() != C) {
    throw std::invalid_argument("cross_entropy: " + std::to_string(o.weight.size()) + " class weights for " +
                                std::to_string(C) + " classes");
  }
  const bool weighted = !o.weight.empty();
  auto w = [&](std::size_t c) { return weighted ? o.weight[c] : 1.0f; };
  double W = 0.0;
  for (std::size_t c = 0; c < C; ++c) W += w(c);
  const double eps = o.label_smoothing, smooth = eps / double(C);

  Array grad = Array::from_shape({B, C});  // row i: d loss_i / d z_i
  Array per_row = Array::from_shape({B});
  double total = 0.0, denominator = 0.0;
  for (std::size_t i = 0; i < B; ++i) {
    const std::uint32_t y = labels[i];
    if (y >= C) {
      throw std::invalid_argument("cross_entropy: label " + std::to_string(y) + " of row " + std::to_string(i) +
                                  " is out of range for " + std::to_string(C) + " classes");
    }
    const float* zi = z.data() + i * C;
    float* gi = grad.data() + i * C;
    const RowExp r = exp_shifted(zi, C, gi);  // gi = exp(z - m) for now
    const double lse = double(r.max) + std::log(double(r.sum));
    double smooth_sum = 0.0;  // Σ_c w_c ℓ_ic = Σ_c w_c (lse - z_c)
    if (eps != 0.0)
      for (std::size_t c = 0; c < C; ++c) smooth_sum += double(w(c)) * (lse - double(zi[c]));
    const double wy = w(y);
    const double term = (1.0 - eps) * wy * (lse - double(zi[y])) + smooth * smooth_sum;
    per_row(i) = float(term);
    total += term;
    denominator += wy;
    const float p_coef = float((1.0 - eps) * wy + smooth * W) / r.sum;
    for (std::size_t c = 0; c < C; ++c) gi[c] = gi[c] * p_coef - float(smooth * w(c));
    gi[y] -= float((1.0 - eps) * wy);
  }

  Array loss;
  if (o.reduction == Reduction::None) {
    loss = std::move(per_row);
  } else {
    const double factor = o.reduction == Reduction::Mean ? 1.0 / denominator : 1.0;
    loss = Array::from_shape({});
    loss() = float(total * factor);
    if (factor != 1.0) grad *= float(factor);
  }
  Tensor out = make_result("cross_entropy", std::move(loss), {logits}, cross_entropy_backward);
  if (out.requires_grad()) out.node()->saved = std::move(grad);
  return out;
}

}  // namespace xg
