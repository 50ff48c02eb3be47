#pragma once
// The differentiable ops. Each one computes its value, and — when a gradient
// is wanted — records a backward function that accumulates into its inputs'
// gradients. The forward and backward of each op sit side by side in ops.cpp.
//
// Shapes: B = batch rows, K = input features, N = output features.
// Shape mismatches throw std::invalid_argument naming the op and both shapes.
#include "core/tensor.hpp"

namespace xg {

// a (M,K) · b (K,N) -> (M,N)
Tensor matmul(const Tensor& a, const Tensor& b);
// a (M,K) · bᵀ, b (N,K) -> (M,N)      (b in PyTorch's weight layout)
Tensor matmul_nt(const Tensor& a, const Tensor& b);
// x (B,K) · wᵀ + b: w (N,K), b (N) -> (B,N). One op: PyTorch's F.linear.
// relu_follows: relu() of the result comes next; the GEMM makes it in the same
// pass, and relu() takes it instead of making its own (the same numbers).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, bool relu_follows = false);
// x (B,N) + b (N) broadcast over the rows -> (B,N)
Tensor add_bias(const Tensor& x, const Tensor& b);
// max(x, 0), any shape
Tensor relu(const Tensor& x);
// For an op's backward pass that reads x: when x = relu(u), the op may store u's
// gradient with relu's mask applied instead of x's (relu's backward then has
// nothing left to do): this gives u, or null when it may not (see core/ops.cpp).
Node* fusable_relu_input(Node& x);
// the same elements in another shape of the same size, row-major order kept
// (flattening (B,C,H,W) to (B,C·H·W), or viewing (B,C·H·W) as images)
Tensor reshape(const Tensor& x, const Shape& shape);
// sum of all elements -> scalar (rank 0)
Tensor sum(const Tensor& x);
// mean of all elements -> scalar (rank 0)
Tensor mean(const Tensor& x);
// elementwise, same shapes
Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
// s * x
Tensor scale(const Tensor& x, float s);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator*(const Tensor& a, float s) { return scale(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return scale(a, s); }

// ---- toolbox ops (activations, dropout, penalties) ---------------------------
// All elementwise ops keep x's shape.

class Rng;

// 1 / (1 + exp(-x)), computed without overflow for any finite x
Tensor sigmoid(const Tensor& x);
// tanh(x)
Tensor tanh(const Tensor& x);
// x where x > 0, else slope · x   (PyTorch's F.leaky_relu, default slope 0.01)
Tensor leaky_relu(const Tensor& x, float slope = 0.01f);
// Inverted dropout: each element is zeroed with probability p, the rest are
// scaled by 1/(1-p), so E[y] = x. The mask comes from `rng`. p in [0, 1].
Tensor dropout(const Tensor& x, float p, Rng& rng);
// x ⊙ mask for a constant mask (dropout's masked scale; mask has x's shape)
Tensor masked_scale(const Tensor& x, const Array& mask);
// Σ x² -> scalar (an L2 penalty term)
Tensor sum_squares(const Tensor& x);
// Σ |x| -> scalar (an L1 penalty term)
Tensor sum_abs(const Tensor& x);

}  // namespace xg
