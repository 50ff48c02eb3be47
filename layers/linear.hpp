#pragma once
#include "core/random.hpp"
#include "layers/module.hpp"

namespace xg {

// y = x · Wᵀ + b
//   x (B, in), weight W (out, in) — PyTorch's layout — bias b (out), y (B, out).
// Initialised as torch.nn.Linear does (Kaiming-uniform with a = √5): every
// weight and bias uniform in [-1/√in, 1/√in].
class Linear : public Module {
 public:
  Linear(std::size_t in_features, std::size_t out_features, Rng& rng);
  Tensor forward(const Tensor& x) override;
  // The same, when a ReLU takes the result next (Sequential): the GEMM makes
  // relu(y) too, for that ReLU to take (ops' linear(..., relu_follows)).
  Tensor forward(const Tensor& x, bool relu_follows);
  Tensor forward_before_relu(const Tensor& x) override { return forward(x, true); }
  std::string describe() const override;

  std::size_t in_features() const { return weight.dim(1); }
  std::size_t out_features() const { return weight.dim(0); }

  Tensor weight;  // (out, in)
  Tensor bias;    // (out)
};

}  // namespace xg
