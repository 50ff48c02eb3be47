#pragma once
// The ops of convolutional networks, on batches of images in PyTorch's NCHW
// layout: x (B, C, H, W) — B images of C channels, H rows, W columns.
// Forward and backward of each sit side by side in conv.cpp.
//
// Output sizes, as torch.nn.Conv2d and MaxPool2d compute them (floor):
//   conv2d:      Ho = (H + 2·padding - kh) / stride + 1,  Wo likewise with kw
//   max_pool2d:  Ho = (H - kernel) / stride + 1
// Shape mismatches (and windows larger than the padded image) throw
// std::invalid_argument naming the op and the shapes.
#include <cstddef>

#include "core/tensor.hpp"

namespace xg {

// y[b][o] = b[o] + Σ_c w[o][c] ⋆ x[b][c]   (cross-correlation, as PyTorch's F.conv2d)
//   x (B,C,H,W), w (O,C,kh,kw), b (O) -> y (B,O,Ho,Wo); zero padding on every side.
// relu_follows: relu() of the result comes next; each image's GEMM makes it in
// the same pass, and relu() takes it instead of making its own (as linear's).
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t stride = 1, std::size_t padding = 0,
              bool relu_follows = false);

// y[b][c][i][j] = max of x[b][c] over the kernel×kernel window at (i·stride, j·stride)
//   x (B,C,H,W) -> y (B,C,Ho,Wo); no padding (PyTorch's F.max_pool2d, ceil_mode off).
Tensor max_pool2d(const Tensor& x, std::size_t kernel, std::size_t stride);

}  // namespace xg

namespace xg {

// y[b][c][i][j] = mean of x[b][c] over the kernel×kernel window at (i·stride, j·stride)
//   x (B,C,H,W) -> y (B,C,Ho,Wo), Ho = (H - kernel) / stride + 1; no padding
//   (PyTorch's F.avg_pool2d, ceil_mode off). Shape errors as max_pool2d's.
Tensor avg_pool2d(const Tensor& x, std::size_t kernel, std::size_t stride);

}  // namespace xg
