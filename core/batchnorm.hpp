#pragma once
// Batch normalisation of images (torch.nn.functional.batch_norm on NCHW input):
// each channel is normalised over the batch and the image, (B, H, W), then
// scaled and shifted per channel. Forward and backward sit side by side in
// batchnorm.cpp.
#include <cstddef>

#include "core/tensor.hpp"

namespace xg {

// y[b][c][h][w] = γ[c] · x̂[b][c][h][w] + β[c],   x̂ = (x - μ[c]) / √(σ²[c] + eps)
//   x (B,C,H,W), γ (C), β (C) -> y (B,C,H,W); running_mean, running_var (C).
// training: μ and σ² are the batch's mean and biased variance over the
//   N = B·H·W values of each channel (a graph runs through them), and the
//   running statistics move towards the batch's, as PyTorch's do:
//     running_mean = (1 - momentum)·running_mean + momentum·μ
//     running_var  = (1 - momentum)·running_var  + momentum·σ²·N/(N - 1)   (unbiased)
//   N must be at least 2 (PyTorch refuses a single value per channel too).
// eval (training false): μ = running_mean, σ² = running_var, used as constants
//   (no graph through them, nothing updated).
// Throws std::invalid_argument naming the shapes that do not fit.
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Array& running_mean, Array& running_var,
                    bool training, float momentum = 0.1f, float eps = 1e-5f);

}  // namespace xg
