#pragma once
#include "optim/optimizer.hpp"

namespace xg {

struct AdamOptions {
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // λ: Adam adds λ p to the gradient; AdamW decays p directly
  bool amsgrad = false;       // keep the running maximum of v
};

// Adam (torch.optim.Adam), for each parameter p with gradient g, at step t = 1, 2, …:
//   g ← g + λ p                       (Adam's L2 weight decay; AdamW instead: p ← p (1 - lr λ))
//   m ← β₁ m + (1 - β₁) g
//   v ← β₂ v + (1 - β₂) g²            (amsgrad: v̂ ← max(v̂, v), used below instead of v)
//   p ← p - lr/(1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + ε)
// State (m, v, v̂, t) is per parameter, by position.
class Adam : public Optimizer {
 public:
  // Throws std::invalid_argument for betas outside [0, 1) or a negative eps.
  Adam(std::vector<Tensor> parameters, float lr, const AdamOptions& options = {});
  void step() override;

  const AdamOptions& options() const { return options_; }
  std::size_t steps() const { return t_; }
  const std::vector<Array>& first_moments() const { return m_; }
  const std::vector<Array>& second_moments() const { return v_; }
  // "m.i", "v.i" (and "v_max.i" with amsgrad) per parameter, and "step" (t), once stepped.
  State state() const override;
  void load_state(const State& state) override;

 protected:
  Adam(std::vector<Tensor> parameters, float lr, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;  // AdamW
  std::size_t t_ = 0;
  std::vector<Array> m_, v_, v_max_;
};

// AdamW (torch.optim.AdamW): Adam with decoupled weight decay p ← p (1 - lr λ)
// applied before the Adam update, instead of λ p added to the gradient.
// PyTorch's default λ for AdamW is 0.01; pass it explicitly here.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> parameters, float lr, const AdamOptions& options = {})
      : Adam(std::move(parameters), lr, options, /*decoupled=*/true) {}
};

}  // namespace xg
