#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/sgd_rule.hpp"
#include "optim/optimizer.hpp"

namespace xg {

struct SGDOptions {
  float momentum = 0.0f;      // μ in [0, 1)
  float dampening = 0.0f;     // τ
  bool nesterov = false;      // needs μ > 0 and τ = 0 (as torch.optim.SGD)
  float weight_decay = 0.0f;  // λ, an L2 term added to the gradient
};

// Stochastic gradient descent as torch.optim.SGD computes it, for each parameter p
// with gradient g:
//   g ← g + λ p                                  (weight decay)
//   v ← g                        (first step)    (momentum μ ≠ 0)
//   v ← μ v + (1 - τ) g          (later steps)
//   g ← g + μ v  if Nesterov, else g ← v
//   p ← p - lr · g
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> parameters, float lr, float momentum = 0.0f);
  // Throws std::invalid_argument for Nesterov without momentum or with dampening.
  SGD(std::vector<Tensor> parameters, float lr, const SGDOptions& options);
  void step() override;
  // The update made in the backward pass, where an op can (core/sgd_rule.hpp).
  bool begin_update_in_backward() override;
  bool step_left_parameters_finite() const override { return step_finite_; }

  float momentum() const { return options_.momentum; }
  const SGDOptions& options() const { return options_; }
  // One velocity per parameter, by position; empty before the first step and without momentum.
  const std::vector<Array>& velocities() const { return velocity_; }
  // "velocity.i" per parameter (none before the first step or without momentum).
  State state() const override;
  void load_state(const State& state) override;

 private:
  SgdStep next_step();
  std::uint32_t update(std::size_t i, std::size_t begin, std::size_t end, const SgdStep& s);

  SGDOptions options_;
  std::vector<Array> velocity_;
  bool velocity_started_ = false;  // a step has written velocity_ (or load_state loaded it)
  SgdStep step_;                   // the step the backward pass makes (begin_update_in_backward)
  std::vector<std::uint32_t> slice_nonfinite_;  // per thread's slice of step(): a new weight is inf or NaN
  bool step_finite_ = true;  // no parameter came out of the last step() inf or NaN
};

}  // namespace xg
