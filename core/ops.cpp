#include "core/ops.hpp"

// Every op below has the same layout: a header line with the forward formula and
// the shapes, a line with the derivative, a "Node:" line, then backward, then
// forward. The "Node:" line says what the op keeps in the output Node's generic
// fields (core/tensor.hpp): `parents` in slot order, `saved` (an Array),
// `scalar` (a float) and `sizes` (two integers); an unused `saved` stays empty,
// an unused `scalar` 0 and unused `sizes` {0, 0}.
// (`op` is always the op's name, `value` its result.) Backward may also read the
// node's own value and its parents' values; the line says which. The
// convolution ops (conv2d, max_pool2d) are in core/conv.cpp, laid out the same
// way; they also use `sizes` (two integers).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "core/gemm.hpp"
#include "core/parallel.hpp"
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

// Elementwise ops run on the pool's threads in blocks of kBlock elements (each
// element's result is the same whichever thread computes it).
constexpr std::size_t kBlock = 4096;
long long elementwise_blocks(std::size_t size) { return static_cast<long long>((size + kBlock - 1) / kBlock); }

// db (N) += column sums of dy (B,N)   (add == false: db = the sums, db not read)
void accumulate_column_sums(const Array& dy, Array& db, bool add = true) {
  const std::size_t rows = dy.shape()[0], cols = dy.shape()[1];
  const float* g = dy.data();
  float* out = db.data();
  if (!add) std::fill_n(out, cols, 0.0f);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) out[c] += g[r * cols + c];
}

// Node::sgd_step: SGD's update of a weight w (N,K) whose whole gradient dyᵀ·x
// comes from this op (its one consumer, nothing accumulated yet), made by the
// GEMM that would make the gradient. False when it does not apply (the caller
// then stores the gradient as usual).
bool sgd_update_in_backward(Node& w, int B, int N, int K, const float* dy, const float* x, float* dy_sums) {
  if (!w.sgd_step || w.consumers != 1 || !w.grad_is_zero()) return false;
  std::atomic<bool> nonfinite{false};
  if (!gemm_sgd_update_w(B, N, K, dy, x, *w.sgd_step, w.value.data(), w.sgd_velocity, &nonfinite, dy_sums))
    return false;
  w.updated = true;
  w.update_nonfinite = nonfinite.load(std::memory_order_relaxed);
  return true;
}

}  // namespace

// ---- matmul: C = A·B, A (M,K), B (K,N), C (M,N) ------------------------------
// dA = dC · Bᵀ,  dB = Aᵀ · dC
// Node: parents {A, B}; saved and scalar unused (backward reads A and B's values).
static void matmul_backward(Node& n) {
  Node &a = parent(n, 0), &b = parent(n, 1);
  const int M = as_int(a.value.shape()[0]), K = as_int(a.value.shape()[1]), N = as_int(b.value.shape()[1]);
  // dA (M,K) += dC (M,N) · Bᵀ, B (K,N)
  if (wants_grad(n, 0)) gemm_accumulate_abt(M, K, N, n.grad.data(), b.value.data(), a.grad_buffer().data());
  // dB (K,N) += Aᵀ · dC, A (M,K), dC (M,N)
  if (wants_grad(n, 1)) gemm_accumulate_atb(K, N, M, a.value.data(), n.grad.data(), b.grad_buffer().data());
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
  gemm_ab(M, N, K, a.data(), b.data(), c.data());
  return make_result("matmul", std::move(c), {a, b}, matmul_backward);
}

// ---- matmul_nt: C = A·Bᵀ, A (M,K), B (N,K), C (M,N) --------------------------
// dA = dC · B,  dB = dCᵀ · A   (linear's layouts, with A as x and B as W)
// Node: parents {A, B}; saved and scalar unused (backward reads A and B's values).
static void matmul_nt_backward(Node& n) {
  Node &a = parent(n, 0), &b = parent(n, 1);
  const int M = as_int(a.value.shape()[0]), K = as_int(a.value.shape()[1]), N = as_int(b.value.shape()[0]);
  // dA (M,K) += dC (M,N) · B, B (N,K)
  if (wants_grad(n, 0)) gemm_accumulate_dx(M, N, K, n.grad.data(), b.value.data(), a.grad_buffer().data());
  // dB (N,K) += dCᵀ · A, A (M,K)
  if (wants_grad(n, 1)) gemm_accumulate_dw(M, N, K, n.grad.data(), a.value.data(), b.grad_buffer().data());
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
  gemm_xwt(M, N, K, a.data(), b.data(), c.data());
  return make_result("matmul_nt", std::move(c), {a, b}, matmul_nt_backward);
}

static void relu_backward(Node& n);

// The input u of a ReLU x = relu(u) whose backward the op reading x can make in
// its own (a linear layer's input-gradient GEMM, Epilogue::relu_mask; max-pooling,
// core/conv.cpp), or null. Only when the backward drops intermediate gradients
// (x's is then never stored), that op is x's one consumer (no other gradient
// reaches x), and u's gradient is still zero (the op stores u's, it does not add).
Node* fusable_relu_input(Node& x) {
  if (!dropping_intermediate_grads() || x.backward != relu_backward || x.consumers != 1 || !x.grad_is_zero())
    return nullptr;
  Node* u = x.parents[0].get();
  return u && u->requires_grad && u->grad_is_zero() ? u : nullptr;
}

// ---- linear: y = x·Wᵀ + b, x (B,K), W (N,K), b (N), y (B,N) -------------------
// dx = dy · W,  dW = dyᵀ · x,  db = Σ_rows dy
// Node: parents {x, W, b}; saved holds relu(y) until relu() takes it (made only
// with relu_follows), scalar unused (backward reads x and W's values).
static void linear_backward(Node& n) {
  Node &x = parent(n, 0), &w = parent(n, 1);
  const int B = as_int(x.value.shape()[0]), K = as_int(x.value.shape()[1]), N = as_int(w.value.shape()[0]);
  // dx (B,K) += dy (B,N) · W, W (N,K). When dx is still all zeros (the first
  // consumer of x to run its backward, as for every activation of a plain
  // stack), the GEMM stores dy · W instead of adding it to zeros: the same
  // numbers, without a pass that writes the zeros and a pass that reads them back.
  // When x = relu(u) and nothing needs x's own gradient (fusable_relu_input),
  // the GEMM stores u's gradient instead, relu's mask applied to each element
  // as it is finished (x > 0 passes): the same numbers as relu's backward would
  // make from the stored dx, without that pass over dx, x and du.
  if (wants_grad(n, 0)) {
    bool add = true;
    if (Node* u = fusable_relu_input(x)) {
      gemm_accumulate_dx(B, N, K, n.grad.data(), w.value.data(), u->grad_to_overwrite(add).data(), false,
                         x.value.data());
      x.backward_made = true;
    } else {
      float* dx = x.grad_to_overwrite(add).data();
      gemm_accumulate_dx(B, N, K, n.grad.data(), w.value.data(), dx, add);
    }
  }
  // db (N) += column sums of dy   (the same overwrite of a zero gradient). When
  // db is still zero and the weight gradient's GEMM below takes dy in one block,
  // that GEMM makes the sums as it packs dy: no pass of its own over dy.
  Array* db = nullptr;
  bool db_add = true;
  float* db_by_gemm = nullptr;
  if (wants_grad(n, 2)) {
    db = &parent(n, 2).grad_to_overwrite(db_add);
    if (!db_add && wants_grad(n, 1) && gemm_dw_sums_dy(B)) db_by_gemm = db->data();
  }
  // dW (N,K) += dyᵀ · x, x (B,K): stored in the same way right after zero_grad().
  // Or, when SGD asked for its update here (Node::sgd_step) and dW is this op's
  // alone, W gets the update straight from the GEMM: dW is never stored. (dx above
  // has already read W.)
  if (wants_grad(n, 1) && !sgd_update_in_backward(w, B, N, K, n.grad.data(), x.value.data(), db_by_gemm)) {
    bool add = true;
    float* dw = w.grad_to_overwrite(add).data();
    gemm_accumulate_dw(B, N, K, n.grad.data(), x.value.data(), dw, add, db_by_gemm);
  }
  if (db && !db_by_gemm) accumulate_column_sums(n.grad, *db, db_add);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, bool relu_follows) {
  require_rank("linear", x, 2, "input");
  require_rank("linear", w, 2, "weight");
  require_rank("linear", b, 1, "bias");
  if (x.dim(1) != w.dim(1) || b.dim(0) != w.dim(0)) {
    throw std::invalid_argument("linear: input " + shape_string(x.value()) + ", weight " + shape_string(w.value()) +
                                " and bias " + shape_string(b.value()) + " do not fit (weight is (out, in))");
  }
  const int B = as_int(x.dim(0)), K = as_int(x.dim(1)), N = as_int(w.dim(0));
  Array y = uninitialized(B, N);
  Epilogue add_b;  // the bias is added as each element of y is finished
  add_b.bias = b.data();
  // With relu_follows, relu(y) is made in the same pass and kept in the node
  // (`saved`) for relu() to take: no second pass over y (measured: 0.5% of a
  // one-thread step, docs/PERFORMANCE.md, eleventh round). y itself is stored
  // too: the graph is the same.
  Array relu_y = relu_follows ? uninitialized(B, N) : Array();
  if (relu_follows) add_b.relu_copy = relu_y.data();
  gemm_xwt(B, N, K, x.data(), w.data(), y.data(), add_b);
  Tensor out = make_result("linear", std::move(y), {x, w, b}, linear_backward);
  if (relu_follows) out.node()->saved = std::move(relu_y);
  return out;
}

// ---- add_bias: y = x + b, x (B,N), b (N) broadcast over rows ------------------
// dx = dy,  db = Σ_rows dy   (un-broadcast: sum back to the bias's shape)
// Node: parents {x, b}; saved and scalar unused.
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

// ---- relu: y = max(x, 0), y of x's shape -------------------------------------
// dx = dy where y > 0, else 0. At x == 0 exactly the gradient is 0 (PyTorch's
// choice too); gradient checks keep inputs away from that kink. As in PyTorch, a
// NaN passes through (y = NaN, and its gradient passes like a positive x's) and
// -0 stays -0: the forward zeroes only x < 0, the backward only y <= 0. So a NaN
// reaches the loss, where the training loop reports it, instead of turning into 0.
// Node: parents {x}; saved and scalar unused (backward reads its own value y:
// y > 0 exactly where x > 0).
// One block of relu's forward and backward (the pointers are parameters, so the
// compiler knows the stores do not move them, and vectorises the loops).
static void relu_block(const float* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = in[i];
    out[i] = v < 0.0f ? 0.0f : v;
  }
}
static void relu_backward_block(const float* y, const float* dy, float* dx, std::size_t n, bool add) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = y[i] <= 0.0f ? 0.0f : dy[i];  // dy[i] read either way: a select, not a branch
    dx[i] = add ? dx[i] + g : g;
  }
}

static void relu_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  bool add = true;  // false: x has no gradient yet; store instead of adding to zeros (Node::grad_to_overwrite)
  float* dx = parent(n, 0).grad_to_overwrite(add).data();
  const float *y = n.value.data(), *dy = n.grad.data();
  const std::size_t size = n.value.size();
  parallel_for(elementwise_blocks(size), size, [&](long long block) {
    const std::size_t begin = std::size_t(block) * kBlock;
    relu_backward_block(y + begin, dy + begin, dx + begin, std::min(kBlock, size - begin), add);
  });
}

// relu(y) of a linear or conv2d op asked to make it (linear(..., relu_follows),
// conv2d(..., relu_follows)), taken from that node, or an empty Array.
static Array made_for_relu(const Tensor& x) {
  Node* n = x.node();
  if (!n || (std::strcmp(n->op, "linear") != 0 && std::strcmp(n->op, "conv2d") != 0) || n->saved.dimension() == 0 ||
      n->saved.shape() != n->value.shape())
    return Array();
  Array made = std::move(n->saved);
  n->saved = Array();  // taken: a second relu() of x makes its own
  return made;
}

Tensor relu(const Tensor& x) {
  if (Array made = made_for_relu(x); made.dimension() != 0) return make_result("relu", std::move(made), {x}, relu_backward);
  Array y = Array::from_shape(x.value().shape());
  const float* in = x.data();
  float* out = y.data();
  const std::size_t size = x.size();
  parallel_for(elementwise_blocks(size), size, [&](long long block) {
    const std::size_t begin = std::size_t(block) * kBlock;
    relu_block(in + begin, out + begin, std::min(kBlock, size - begin));
  });
  return make_result("relu", std::move(y), {x}, relu_backward);
}

// ---- reshape: y = x with another shape of as many elements ----------------------
// dx = dy, read in the same row-major order
// Node: parents {x}; saved and scalar unused.
static void reshape_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  float* dx = parent(n, 0).grad_buffer().data();
  const float* dy = n.grad.data();
  for (std::size_t i = 0; i < n.grad.size(); ++i) dx[i] += dy[i];
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  std::size_t size = 1;
  for (std::size_t d : shape) size *= d;
  if (size != x.size()) {
    throw std::invalid_argument("reshape: input " + shape_string(x.value()) + " has " + std::to_string(x.size()) +
                                " elements, shape " + shape_string(shape) + " has " + std::to_string(size));
  }
  Array y = Array::from_shape(shape);
  std::copy_n(x.data(), x.size(), y.data());
  return make_result("reshape", std::move(y), {x}, reshape_backward);
}

// ---- sum: s = Σ x;  mean: s = Σ x / count,  x any shape, s rank 0 ---------------
// dx = ds · factor for every element (factor 1 for sum, 1/count for mean)
// Node: parents {x}; scalar = factor; saved unused.
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

// ---- add: y = a + b, a, b, y of one shape -----------------------------------
// da = dy,  db = dy
// Node: parents {a, b}; saved and scalar unused.
static void add_backward(Node& n) {
  if (wants_grad(n, 0)) parent(n, 0).grad_buffer() += n.grad;
  if (wants_grad(n, 1)) parent(n, 1).grad_buffer() += n.grad;
}

Tensor add(const Tensor& a, const Tensor& b) {
  require_same_shape("add", a, b);
  Array y = a.value() + b.value();
  return make_result("add", std::move(y), {a, b}, add_backward);
}

// ---- mul: y = a ⊙ b, a, b, y of one shape --------------------------------
// da = dy ⊙ b,  db = dy ⊙ a
// Node: parents {a, b}; saved and scalar unused (backward reads a and b's values).
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

// ---- scale: y = s · x, x and y of one shape -----------------------------------
// dx = s · dy
// Node: parents {x}; scalar = s; saved unused.
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
// dx += dy ⊙ d, for an elementwise op whose local derivative d (x's shape) forward
// saved in n.saved; the backward of masked_scale and dropout.
void accumulate_elementwise(Node& n) {
  if (!n.parents[0] || !n.parents[0]->requires_grad) return;
  float* dx = n.parents[0]->grad_buffer().data();
  const float *d = n.saved.data(), *dy = n.grad.data();
  for (std::size_t i = 0; i < n.value.size(); ++i) dx[i] += dy[i] * d[i];
}
}  // namespace

// ---- sigmoid: y = 1 / (1 + e^-x), y of x's shape ---------------------------------
// dx = dy · y (1 - y)
// Node: parents {x}; saved and scalar unused (backward reads its own value y).
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

// ---- tanh: y = tanh(x), y of x's shape --------------------------------------------
// dx = dy · (1 - y²)
// Node: parents {x}; saved and scalar unused (backward reads its own value y).
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

// ---- leaky_relu: y = x if x > 0 else slope · x, y of x's shape ---------------------
// dx = dy if x > 0 else slope · dy  (at 0 exactly: slope, as PyTorch)
// Node: parents {x}; scalar = slope; saved unused (backward reads x's value).
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

// ---- masked_scale: y = x ⊙ m, m constant, x, m, y of one shape ------------------------
// dx = dy ⊙ m   (backward: accumulate_elementwise above, with d = m)
// Node: parents {x}; saved = m (kept only when a gradient is wanted); scalar unused.
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

// ---- dropout: y = x ⊙ m, m_i = 0 with probability p, else 1/(1-p), y of x's shape -----
// dx = dy ⊙ m
// Node: masked_scale's (parents {x}; saved = m; scalar unused), op renamed "dropout".
Tensor dropout(const Tensor& x, float p, Rng& rng) {
  if (!(p >= 0.0f && p <= 1.0f)) throw std::invalid_argument("dropout: p must be in [0, 1], got " + std::to_string(p));
  Array mask = Array::from_shape(x.value().shape());
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;  // p = 1 drops everything (as PyTorch)
  for (float& m : mask) m = rng.uniform(0.0f, 1.0f) < p ? 0.0f : keep_scale;
  Tensor out = masked_scale(x, mask);
  out.node()->op = "dropout";
  return out;
}

// ---- sum_squares: s = Σ x², x any shape, s rank 0 --------------------------------
// dx = ds · 2x
// Node: parents {x}; saved and scalar unused (backward reads x's value).
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

// ---- sum_abs: s = Σ |x|, x any shape, s rank 0 -----------------------------------------
// dx = ds · sign(x)   (0 at x == 0, PyTorch's choice for abs)
// Node: parents {x}; saved and scalar unused (backward reads x's value).
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
