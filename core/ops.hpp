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
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);
// x (B,N) + b (N) broadcast over the rows -> (B,N)
Tensor add_bias(const Tensor& x, const Tensor& b);
// max(x, 0), any shape
Tensor relu(const Tensor& x);
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

}  // namespace xg
