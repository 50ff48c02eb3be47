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

// ---- cross-entropy: the one fused op behind softmax_cross_entropy and cross_entropy ----
// logits z (B,C), labels y (B) -> loss: rank 0 (Mean, Sum) or (B) (None).
// Per row i, with ℓ_ic = lse(z_i) - z_ic = -log p_ic, ε the label smoothing, w the
// class weights (all 1 when none given) and W = Σ_c w_c:
//   loss_i = (1-ε) w_y ℓ_iy + (ε/C) Σ_c w_c ℓ_ic
//   G_i = d loss_i / d z_i = a_i p_i - (1-ε) w_y onehot(y) - (ε/C) w,   a_i = (1-ε) w_y + ε W / C
// Without weights or smoothing a_i = 1 and G_i = p_i - onehot(y). Mean divides
// both by D = Σ_i w_{y_i} (B without weights), Sum and None by D = 1.
// Node: parents {z}; saved = G (B,C), already divided by D; scalar unused.
// backward: dz += dloss · G (scalar loss), or dz_i += dloss_i · G_i row by row (None).
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

namespace {

// Throws "op: what". The message is built only when thrown: a training step allocates nothing.
[[noreturn]] void invalid(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": " + what);
}

// The loss and G in one pass over the logits; `op` names the node and the errors.
Tensor fused_cross_entropy(const char* op, const Tensor& logits, const std::vector<std::uint32_t>& labels,
                           const CrossEntropyOptions& o) {
  const Array& z = logits.value();
  require_logits(op, z);
  const std::size_t B = z.shape()[0], C = z.shape()[1];
  if (labels.size() != B)
    invalid(op, std::to_string(B) + " rows of logits but " + std::to_string(labels.size()) + " labels");
  if (!(o.label_smoothing >= 0.0f && o.label_smoothing <= 1.0f))
    invalid(op, "label_smoothing must be in [0, 1], got " + std::to_string(o.label_smoothing));
  if (!o.weight.empty() && o.weight.size() != C)
    invalid(op, std::to_string(o.weight.size()) + " class weights for " + std::to_string(C) + " classes");
  const bool weighted = !o.weight.empty();
  auto w = [&](std::size_t c) { return weighted ? o.weight[c] : 1.0f; };

  // D, the reduction's denominator, needs every label: check them all first.
  double denominator = 0.0;
  for (std::size_t i = 0; i < B; ++i) {
    if (labels[i] >= C) {
      invalid(op, "label " + std::to_string(labels[i]) + " of row " + std::to_string(i) + " is out of range for " +
                      std::to_string(C) + " classes");
    }
    denominator += w(labels[i]);
  }
  if (o.reduction != Reduction::Mean) denominator = 1.0;
  const float D = float(denominator);

  const double eps = o.label_smoothing, smooth = eps / double(C);
  double W = 0.0;
  for (std::size_t c = 0; c < C; ++c) W += w(c);

  Array grad = Array::from_shape({B, C});  // row i becomes G_i / D
  Array per_row = o.reduction == Reduction::None ? Array::from_shape({B}) : Array();
  double total = 0.0;
  for (std::size_t i = 0; i < B; ++i) {
    const std::uint32_t y = labels[i];
    const float* zi = z.data() + i * C;
    float* gi = grad.data() + i * C;
    const RowExp r = exp_shifted(zi, C, gi);  // gi = exp(z_i - m) for now
    // lse = logsumexp(z_i) = m + log Σ exp(z_i - m), so ℓ_ic = lse - z_ic = -log p_ic
    const double lse = double(r.max) + std::log(double(r.sum));
    double smooth_sum = 0.0;  // Σ_c w_c ℓ_ic
    if (eps != 0.0)
      for (std::size_t c = 0; c < C; ++c) smooth_sum += double(w(c)) * (lse - double(zi[c]));
    const double wy = w(y);
    const double term = (1.0 - eps) * wy * (lse - double(zi[y])) + smooth * smooth_sum;
    if (o.reduction == Reduction::None) per_row(i) = float(term);
    total += term;
    // gi = (a_i p - (ε/C) w) / D, then - (1-ε) w_y / D at the label. Without weights
    // or smoothing: exp(z - m) / (Σ exp · B) - 0, then - 1/B: (p - onehot) / B.
    const float a = float((1.0 - eps) * wy + smooth * W);
    const float inv = a / (r.sum * D);
    for (std::size_t c = 0; c < C; ++c) gi[c] = gi[c] * inv - float(smooth * w(c)) / D;
    gi[y] -= float((1.0 - eps) * wy) / D;
  }

  Array loss;
  if (o.reduction == Reduction::None) {
    loss = std::move(per_row);
  } else {
    loss = Array::from_shape({});
    loss() = float(total / denominator);
  }
  Tensor out = make_result(op, std::move(loss), {logits}, cross_entropy_backward);
  if (out.requires_grad()) out.node()->saved = std::move(grad);
  return out;
}

}  // namespace

Tensor softmax_cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels) {
  return fused_cross_entropy("softmax_cross_entropy", logits, labels, CrossEntropyOptions{});
}

Tensor cross_entropy(const Tensor& logits, const std::vector<std::uint32_t>& labels, const CrossEntropyOptions& o) {
  return fused_cross_entropy("cross_entropy", logits, labels, o);
}

}  // namespace xg
