#include "core/batchnorm.hpp"

// Laid out as core/ops.cpp: the formulas, the "Node:" line, backward, forward.

#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "core/parallel.hpp"

namespace xg {

namespace {

using Index = long long;

}  // namespace

// ---- batch_norm2d: y = γ·x̂ + β, x̂ = (x - μ)/σ, σ = √(var + eps), per channel c ------------
// x (B,C,H,W), γ, β (C); N = B·H·W values per channel.
// training (μ, var the batch's; they depend on x):
//   dx = (γ/σ)/N · (N·dy − Σdy − x̂·Σ(dy·x̂)),   dγ = Σ dy·x̂,   dβ = Σ dy
// eval (μ, var the running statistics, constants):
//   dx = (γ/σ)·dy,                                dγ = Σ dy·x̂,   dβ = Σ dy
// the sums over the channel's N values, in double.
// Node: parents {x, γ, β}; saved = (2, C): row 0 μ, row 1 1/σ per channel;
// sizes = {1 if training else 0, 0}; scalar unused. Backward reads x's value
// (x̂ is recomputed from it) and γ's.
static void batch_norm2d_backward(Node& n) {
  Node& x = parent(n, 0);
  const std::size_t B = x.value.shape()[0], C = x.value.shape()[1], plane = x.value.shape()[2] * x.value.shape()[3];
  const bool training = n.sizes[0] != 0;
  const double N = double(B * plane);
  const float *in = x.value.data(), *dy = n.grad.data(), *gamma = parent(n, 1).value.data();
  const float *mean = n.saved.data(), *inv_std = n.saved.data() + C;
  float* dx = wants_grad(n, 0) ? x.grad_buffer().data() : nullptr;
  float* dgamma = wants_grad(n, 1) ? parent(n, 1).grad_buffer().data() : nullptr;
  float* dbeta = wants_grad(n, 2) ? parent(n, 2).grad_buffer().data() : nullptr;
  // One channel per task, its values in a fixed order: the same sums at any thread count.
  parallel_for(Index(C), 3 * x.value.size(), [&](Index ci) {
    const std::size_t c = std::size_t(ci);
    const float mu = mean[c], r = inv_std[c];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t at = (b * C + c) * plane;
      for (std::size_t k = 0; k < plane; ++k) {
        const double g = dy[at + k];
        sum_dy += g;
        sum_dy_xhat += g * double((in[at + k] - mu) * r);
      }
    }
    if (dgamma) dgamma[c] += float(sum_dy_xhat);
    if (dbeta) dbeta[c] += float(sum_dy);
    if (!dx) return;
    const float scale = gamma[c] * r;  // γ/σ
    // training: dx = γ/σ · (dy − Σdy/N − x̂·Σ(dy·x̂)/N); eval: the two sums drop out
    const float mean_dy = training ? float(sum_dy / N) : 0.0f, mean_dy_xhat = training ? float(sum_dy_xhat / N) : 0.0f;
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t at = (b * C + c) * plane;
      for (std::size_t k = 0; k < plane; ++k) {
        const float xhat = (in[at + k] - mu) * r;
        dx[at + k] += scale * (dy[at + k] - mean_dy - xhat * mean_dy_xhat);
      }
    }
  });
}

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array& running_mean, Array& running_var,
                    bool training, float momentum, float eps) {
  if (x.rank() != 4) throw std::invalid_argument("batch_norm2d: x must be images (B, C, H, W), got shape " + shape_string(x.value()));
  const std::size_t B = x.dim(0), C = x.dim(1), plane = x.dim(2) * x.dim(3);
  const Shape channels{C};
  for (const Array* a : std::initializer_list<const Array*>{&gamma.value(), &beta.value(), &running_mean, &running_var}) {
    if (a->dimension() != 1 || a->shape()[0] != C) {
      throw std::invalid_argument("batch_norm2d: weight, bias and running statistics must have shape " + shape_string(channels) +
                                  " for input " + shape_string(x.value()) + ", got " + shape_string(*a));
    }
  }
  const std::size_t N = B * plane;
  if (training && N < 2) {
    throw std::invalid_argument("batch_norm2d: training needs more than one value per channel, got input " + shape_string(x.value()));
  }
  Array y = Array::from_shape(x.value().shape());
  Array saved = Array::from_shape({2, C});  // μ, 1/σ
  float *mean = saved.data(), *inv_std = saved.data() + C;
  const float *in = x.data(), *g = gamma.data(), *bt = beta.data();
  parallel_for(Index(C), 3 * x.size(), [&](Index ci) {
    const std::size_t c = std::size_t(ci);
    double mu = running_mean.data()[c], var = running_var.data()[c];
    if (training) {
      // two passes in double: the mean, then the variance of the centred values
      // (not E[x²] − E[x]², which cancels catastrophically for large means)
      double sum = 0.0;
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < plane; ++k) sum += in[(b * C + c) * plane + k];
      mu = sum / double(N);
      double squares = 0.0;
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < plane; ++k) {
          const double d = double(in[(b * C + c) * plane + k]) - mu;
          squares += d * d;
        }
      var = squares / double(N);
      running_mean.data()[c] = (1.0f - momentum) * running_mean.data()[c] + momentum * float(mu);
      running_var.data()[c] = (1.0f - momentum) * running_var.data()[c] + momentum * float(squares / double(N - 1));
    }
    mean[c] = float(mu);
    inv_std[c] = float(1.0 / std::sqrt(var + double(eps)));
    const float m = mean[c], scale = g[c] * inv_std[c], shift = bt[c];
    for (std::size_t b = 0; b < B; ++b) {
      const std::size_t at = (b * C + c) * plane;
      for (std::size_t k = 0; k < plane; ++k) y.data()[at + k] = (in[at + k] - m) * scale + shift;
    }
  });
  Tensor out = make_result("batch_norm2d", std::move(y), {x, gamma, beta}, batch_norm2d_backward);
  if (out.requires_grad()) out.node()->saved = std::move(saved);
  out.node()->sizes = {training ? 1u : 0u, 0};
  return out;
}

}  // namespace xg
