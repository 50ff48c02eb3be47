#include "core/ops.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/gemm.hpp"
#include "core/random.hpp"

namespace xg {

namespace {

int as_int(std::size_t n) { return static_cast<int>(n); }

void require_rank(const char* op, const Tensor& t, std::size_t rank, const char* what) {
  if (t.rank() != rank) {
    throw std::invalid_argument(std::string(op) + ": " + what + " must have rank " + std::to_string(rank) +
                                ", got shape " + shape_string(t.value()));
  }
}

void require_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  if (a.value().shape() != b.value().shape()) {
    throw std::invalid_argument(std::string(op) + ": shapes differ, " + shape_string(a.value()) + " vs " +
                                shape_string(b.value()));
  }
}

Array uninitialized(std::size_t rows, std::size_t cols) { return Array::from_shape({rows, cols}); }

Node& parent(Node& n, int i) { return *n.parents[i]; }
bool wants_grad(Node& n, int i) { return n.parents[i] && n.parents[i]->requires_grad; }

// db (N) += column sums of dy (B,N)
void accumulate_column_sums(const Array& dy, Array& db) {
  const std::size_t rows = dy.shape()[0], cols = dy.shape()[1];
  const float* g = dy.data();
  float* out = db.data();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out[c] += g[r * cols + c];
}

}  // namespace

// ---- matmul: C = A·B, A (M,K), B (K,N), C (M,N) ------------------------------
// dA = dC · Bᵀ,  dB = Aᵀ · dC
static void matmul_backward(Node& n) {
  Node &a = parent(n, 0), &b = parent(n, 1);
  const int M = as_int(a.value.shape()[0]), K = as_int(a.value.shape()[1]), N = as_int(b.value.shape()[1]);
  if (wants_grad(n, 0))
    gemm(Trans::No, Trans::Yes, M, K, N, 1.0f, n.grad.data(), N, b.value.data(), N, 1.0f, a.grad_buffer().data(), K);
  if (wants_grad(n, 1))
    gemm(Trans::Yes, Trans::No, K, N, M, 1.0f, a.value.data(), K, n.grad.data(), N, 1.0f, b.grad_buffer().data(), N);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  require_rank("matmul", a, 2, "left operand");
  require_rank("matmul", b, 2, "right operand");
  if (a.dim(1) != b.dim(0)) {
    throw std::invalid_argument("matmul: inner dimensions differ, " + shape_string(a.value()) + " · " +
                                shape_string(b.value()));
  }
  const int M = as_int(a.dim(0)), K = as_int(a.dim(1)), N = as_int(b.dim(1));
  Array c = uninitialized(M, N);
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, a.data(), K, b.data(), N, 0.0f, c.data(), N);
  return make_result("matmul", std::move(c), {a, b}, matmul_backward);
}

// ---- matmul_nt: C = A·Bᵀ, A (M,K), B (N,K), C (M,N) --------------------------
// dA = dC · B,  dB = dCᵀ · A
static void matmul_nt_backward(Node& n) {
  Node &a = parent(n, 0), &b = parent(n, 1);
  const int M = as_int(a.value.shape()[0]), K = as_int(a.value.shape()[1]), N = as_int(b.value.shape()[0]);
  if (wants_grad(n, 0))
    gemm(Trans::No, Trans::No, M, K, N, 1.0f, n.grad.data(), N, b.value.data(), K, 1.0f, a.grad_buffer().data(), K);
  if (wants_grad(n, 1))
    gemm(Trans::Yes, Trans::No, N, K, M, 1.0f, n.grad.data(), N, a.value.data(), K, 1.0f, b.grad_buffer().data(), K);
}

Tensor matmul_nt(const Tensor& a, const Tensor& b) {
  require_rank("matmul_nt", a, 2, "left operand");
  require_rank("matmul_nt", b, 2, "right operand");
  if (a.dim(1) != b.dim(1)) {
    throw std::invalid_argument("matmul_nt: inner dimensions differ, " + shape_string(a.value()) + " · " +
                                shape_string(b.value()) + "ᵀ");
  }
  const int M = as_int(a.dim(0)), K = as_int(a.dim(1)), N = as_int(b.dim(0));
  Array c = uninitialized(M, N);
  gemm(Trans::No, Trans::Yes, M, N, K, 1.0f, a.data(), K, b.data(), K, 0.0f, c.data(), N);
  return make_result("matmul_nt", std::move(c), {a, b}, matmul_nt_backward);
}

// ---- linear: y = x·Wᵀ + b, x (B,K), W (N,K), b (N), y (B,N) -------------------
// dx = dy · W,  dW = dyᵀ · x,  db = Σ_rows dy
static void linear_backward(Node& n) {
  Node &x = parent(n, 0), &w = parent(n, 1);
  const int B = as_int(x.value.shape()[0]), K = as_int(x.value.shape()[1]), N = as_int(w.value.shape()[0]);
  if (wants_grad(n, 0))
    gemm(Trans::No, Trans::No, B, K, N, 1.0f, n.grad.data(), N, w.value.data(), K, 1.0f, x.grad_buffer().data(), K);
  if (wants_grad(n, 1))
    gemm(Trans::Yes, Trans::No, N, K, B, 1.0f, n.grad.data(), N, x.value.data(), K, 1.0f, w.grad_buffer().data(), K);
  if (wants_grad(n, 2)) accumulate_column_sums(n.grad, parent(n, 2).grad_buffer());
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  require_rank("linear", x, 2, "input");
  require_rank("linear", w, 2, "weight");
  require_rank("linear", b, 1, "bias");
  if (x.dim(1) != w.dim(1) || b.dim(0) != w.dim(0)) {
    throw std::invalid_argument("linear: input " + shape_string(x.value()) + ", weight " + shape_string(w.value()) +
                                " and bias " + shape_string(b.value()) + " do not fit (weight is (out, in))");
  }
  const int B = as_int(x.dim(0)), K = as_int(x.dim(1)), N = as_int(w.dim(0));
  Array y = uninitialized(B, N);
  Epilogue add_b;
  add_b.bias = b.data();
  gemm(Trans::No, Trans::Yes, B, N, K, 1.0f, x.data(), K, w.data(), K, 0.0f, y.data(), N, add_b);
  return make_result("linear", std::move(y), {x, w, b}, linear_backward);
}

// ---- add_bias: y = x + b, x (B,N), b (N) broadcast over rows ------------------
// dx = dy,  db = Σ_rows dy   (un-broadcast: sum back to the bias's shape)
static void add_bias_backward(Node& n) {
  if (wants_grad(n, 0)) parent(n, 0).grad_buffer() += n.grad;
  if (wants_grad(n, 1)) accumulate_column_sums(n.grad, parent(n, 1).grad_buffer());
}

Tensor add_bias(const Tensor& x, const Tensor& b) {
  require_rank("add_bias", x, 2, "input");
  require_rank("add_bias", b, 1, "bias");
  if (x.dim(1) != b.dim(0)) {
    throw std::invalid_argument("add_bias: input " + shape_string(x.value()) + " has " + std::to_string(x.dim(1)) +
                                " columns but bias " + shape_string(b.value()) + " has " + std::to_string(b.dim(0)));
  }
  const std::size_t rows = x.dim(0), cols = x.dim(1);
  Array y = uninitialized(rows, cols);
  const float *in = x.data(), *bias = b.data();
  float* out = y.data();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] = in[r * cols + c] + bias[c];
  return make_result("add_bias", std::move(y), {x, b}, add_bias_backward);
}

// ---- relu: y = max(x, 0) -----------------------------------------------------
// dx = dy where y > 0, else 0. At x == 0 exactly the gradient is 0 (PyTorch's
// choice too); gradient checks keep inputs away from that kink.
static void relu_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  float* dx = parent(n, 0).grad_buffer().data();
  const float *y = n.value.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}

Tensor relu(const Tensor& x) {
  Array y = Array::from_shape(x.value().shape());
  const float* in = x.data();
  float* out = y.data();
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
  return make_result("relu", std::move(y), {x}, relu_backward);
}

// ---- sum: s = Σ x ---------------------------------------------------------------
// dx = ds (the same for every element);  mean divides by the count (n.scalar)
static void sum_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  parent(n, 0).grad_buffer() += n.grad.data()[0] * n.scalar;
}

static Tensor reduce_all(const char* op, const Tensor& x, float factor) {
  double acc = 0.0;  // double accumulator: 60k-element sums stay exact enough
  const float* in = x.data();
  for (std::size_t i = 0; i < x.size(); ++i) acc += in[i];
  Array s = Array::from_shape({});
  s() = float(acc * factor);
  Tensor out = make_result(op, std::move(s), {x}, sum_backward);
  out.node()->scalar = factor;
  return out;
}

Tensor sum(const Tensor& x) { return reduce_all("sum", x, 1.0f); }

Tensor mean(const Tensor& x) {
  if (x.size() == 0) throw std::invalid_argument("mean: empty tensor");
  return reduce_all("mean", x, 1.0f / float(x.size()));
}

// ---- add: y = a + b ---------------------------------------------------------
// da = dy,  db = dy
static void add_backward(Node& n) {
  if (wants_grad(n, 0)) parent(n, 0).grad_buffer() += n.grad;
  if (wants_grad(n, 1)) parent(n, 1).grad_buffer() += n.grad;
}

Tensor add(const Tensor& a, const Tensor& b) {
  require_same_shape("add", a, b);
  Array y = a.value() + b.value();
  return make_result("add", std::move(y), {a, b}, add_backward);
}

// ---- mul: y = a ⊙ b ------------------------------------------------------
// da = dy ⊙ b,  db = dy ⊙ a
static void mul_backward(Node& n) {
  Node &a = parent(n, 0), &b = parent(n, 1);
  if (wants_grad(n, 0)) a.grad_buffer() += n.grad * b.value;
  if (wants_grad(n, 1)) b.grad_buffer() += n.grad * a.value;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  require_same_shape("mul", a, b);
  Array y = a.value() * b.value();
  return make_result("mul", std::move(y), {a, b}, mul_backward);
}

// ---- scale: y = s · x --------------------------------------------------------
// dx = s · dy
static void scale_backward(Node& n) {
  if (wants_grad(n, 0)) parent(n, 0).grad_buffer() += n.scalar * n.grad;
}

Tensor scale(const Tensor& x, float s) {
  Array y = s * x.value();
  Tensor out = make_result("scale", std::move(y), {x}, scale_backward);
  out.node()->scalar = s;
  return out;
}

// ==== toolbox ops ===============================================================

namespace {
// dx += dy ⊙ d, for an elementwise op whose local derivative d was saved by forward.
void accumulate_elementwise(Node& n) {
  if (!n.parents[0] || !n.parents[0]->requires_grad) return;
  float* dx = n.parents[0]->grad_buffer().data();
  const float *d = n.saved.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += dy[i] * d[i];
}
}  // namespace

// ---- sigmoid: y = 1 / (1 + e^-x) ------------------------------------------------
// dx = dy · y (1 - y)
static void sigmoid_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  float* dx = parent(n, 0).grad_buffer().data();
  const float *y = n.value.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

Tensor sigmoid(const Tensor& x) {
  Array y = Array::from_shape(x.value().shape());
  const float* in = x.data();
  float* out = y.data();
  for (std::size_t i = 0; i < x.size(); ++i) {
    // e^-|x| ≤ 1 never overflows: x ≥ 0 uses 1/(1+e^-x), x < 0 uses e^x/(1+e^x).
    const float e = std::exp(-std::fabs(in[i]));
    out[i] = in[i] >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
  }
  return make_result("sigmoid", std::move(y), {x}, sigmoid_backward);
}

// ---- tanh: y = tanh(x) ------------------------------------------------------------
// dx = dy · (1 - y²)
static void tanh_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  float* dx = parent(n, 0).grad_buffer().data();
  const float *y = n.value.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

Tensor tanh(const Tensor& x) {
  Array y = Array::from_shape(x.value().shape());
  const float* in = x.data();
  float* out = y.data();
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = std::tanh(in[i]);
  return make_result("tanh", std::move(y), {x}, tanh_backward);
}

// ---- leaky_relu: y = x if x > 0 else slope · x -------------------------------------
// dx = dy if x > 0 else slope · dy  (slope in n.scalar; at 0 exactly: slope, as PyTorch)
static void leaky_relu_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  float* dx = parent(n, 0).grad_buffer().data();
  const float *x = parent(n, 0).value.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += x[i] > 0.0f ? dy[i] : n.scalar * dy[i];
}

Tensor leaky_relu(const Tensor& x, float slope) {
  Array y = Array::from_shape(x.value().shape());
  const float* in = x.data();
  float* out = y.data();
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
  Tensor out_t = make_result("leaky_relu", std::move(y), {x}, leaky_relu_backward);
  out_t.node()->scalar = slope;
  return out_t;
}

// ---- masked_scale: y = x ⊙ m, m constant ----------------------------------------------
// dx = dy ⊙ m   (m saved)
Tensor masked_scale(const Tensor& x, const Array& mask) {
  if (mask.shape() != x.value().shape()) {
    throw std::invalid_argument("masked_scale: mask " + shape_string(mask) + " does not match input " +
                                shape_string(x.value()));
  }
  Array y = x.value() * mask;
  Tensor out = make_result("masked_scale", std::move(y), {x}, accumulate_elementwise);
  if (out.requires_grad()) out.node()->saved = mask;
  return out;
}

// ---- dropout: y = x ⊙ m, m_i = 0 with probability p, else 1/(1-p) ---------------------
// dx = dy ⊙ m
Tensor dropout(const Tensor& x, float p, Rng& rng) {
  if (!(p >= 0.0f && p <= 1.0f)) throw std::invalid_argument("dropout: p must be in [0, 1], got " + std::to_string(p));
  Array mask = Array::from_shape(x.value().shape());
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;  // p = 1 drops everything (as PyTorch)
  for (float& m : mask) m = rng.uniform(0.0f, 1.0f) < p ? 0.0f : keep_scale;
  Tensor out = masked_scale(x, mask);
  out.node()->op = "dropout";
  return out;
}

// ---- sum_squares: s = Σ x² --------------------------------------------------------
// dx = ds · 2x
static void sum_squares_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  Node& x = parent(n, 0);
  float* dx = x.grad_buffer().data();
  const float* in = x.value.data();
  const float g = 2.0f * n.grad.data()[0];
  for (std::size_t i = 0; i < x.value.size(); ++i) dx[i] += g * in[i];
}

Tensor sum_squares(const Tensor& x) {
  double acc = 0.0;
  const float* in = x.data();
  for (std::size_t i = 0; i < x.size(); ++i) acc += double(in[i]) * double(in[i]);
  Array s = Array::from_shape({});
  s() = float(acc);
  return make_result("sum_squares", std::move(s), {x}, sum_squares_backward);
}

// ---- sum_abs: s = Σ |x| ---------------------------------------------------------------
// dx = ds · sign(x)   (0 at x == 0, PyTorch's choice for abs)
static void sum_abs_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  Node& x = parent(n, 0);
  float* dx = x.grad_buffer().data();
  const float* in = x.value.data();
  const float g = n.grad.data()[0];
  for (std::size_t i = 0; i < x.value.size(); ++i) dx[i] += in[i] > 0.0f ? g : (in[i] < 0.0f ? -g : 0.0f);
}

Tensor sum_abs(const Tensor& x) {
  double acc = 0.0;
  const float* in = x.data();
  for (std::size_t i = 0; i < x.size(); ++i) acc += std::fabs(double(in[i]));
  Array s = Array::from_shape({});
  s() = float(acc);
  return make_result("sum_abs", std::move(s), {x}, sum_abs_backward);
}

}  // namespace xg
