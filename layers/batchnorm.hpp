#pragma once
#include <cstddef>

#include "layers/module.hpp"

namespace xg {

// Batch normalisation of images (torch.nn.BatchNorm2d with its defaults:
// eps 1e-5, momentum 0.1, affine, tracking running statistics), a thin
// wrapper over core/batchnorm.hpp's op: x (B, C, H, W) -> y of the same shape.
// Training mode normalises each channel with the batch's statistics and moves
// the running ones towards them; eval() mode normalises with the running ones.
//
// Its state, named as PyTorch's state_dict names it:
//   parameters  weight (C) γ, init 1;  bias (C) β, init 0
//   buffers     running_mean (C), init 0;  running_var (C), init 1;
//               num_batches_tracked (a scalar), the training forwards so far
//               (an int64 in PyTorch and in the model file; a float here, exact
//               up to 2^24 batches)
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(std::size_t channels);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  std::size_t channels() const { return weight.dim(0); }

  static constexpr float kMomentum = 0.1f, kEps = 1e-5f;

  Tensor weight;        // γ (C)
  Tensor bias;          // β (C)
  Tensor running_mean;  // (C)
  Tensor running_var;   // (C)
  Tensor num_batches_tracked;  // rank 0
};

}  // namespace xg
