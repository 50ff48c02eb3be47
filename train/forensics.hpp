#pragma once
// Divergence forensics: what the model looked like at the step where training
// blew up, and the lines `xgrad` prints about it.
#include <string>
#include <utility>
#include <vector>

#include <stdexcept>

#include "layers/module.hpp"

namespace xg {

// Thrown when a training loss stops being finite; `xgrad` exits with status 3.
struct TrainingDiverged : std::runtime_error {
  // reason: what went wrong, e.g. "loss is nan" (the default when empty).
  TrainingDiverged(std::size_t epoch, std::size_t step, float lr, float loss, double last_good_loss,
                   const std::string& reason = "");
  std::size_t epoch, step;  // 1-based epoch, 1-based step within it
  float lr, loss;
  double last_good_loss;  // the previous step's loss (NaN if none)
  // Forensics at that step (record_forensics fills them):
  float max_abs_logit = 0.0f;                                    // max finite |logit| of the batch
  std::size_t nonfinite_logits = 0;                              // how many logits were inf or NaN
  double grad_norm = 0.0;                                        // global L2 norm of the gradients
  std::vector<std::pair<std::string, double>> layer_grad_norms;  // per layer, e.g. {"Linear#0", 1.3e4}
  bool gradients_kept = true;  // false: the step updated weights in the backward pass, storing no gradients
};


struct GradientNorms {
  double global = 0.0;  // L2 norm over every parameter's gradient
  // One L2 norm per layer, in parameter order: the parameters sharing a name
  // prefix ("0.weight", "0.bias" -> "0"), labelled by the module ("Linear#0").
  std::vector<std::pair<std::string, double>> layers;
};

// Computed in double precision from the accumulated gradients; a non-finite
// gradient element gives a non-finite norm for its layer and the global one.
GradientNorms gradient_norms(const Module& model);

// True when every element of every parameter's gradient is finite: one
// branch-free, vectorised pass over the exponent bits.
bool gradients_finite(const std::vector<Tensor>& parameters);
// The same for the parameters' values: an update with finite gradients can
// still overflow a weight (a huge rate), which no loss shows before the next step.
bool weights_finite(const std::vector<Tensor>& parameters);

// max |x| over a tensor's finite values (0 if none), and how many are not finite.
float max_abs_finite(const Tensor& t, std::size_t* nonfinite);

// Fills e's forensic fields from the step's logits and the model's gradients
// (none when the step stored no gradients: gradients_kept false,
// Optimizer::begin_update_in_backward).
void record_forensics(TrainingDiverged& e, const Tensor& logits, const Module& model, bool gradients_kept = true);

// The lines printed on stderr (each ending in '\n'): where it happened, the
// last good loss, max |logit|, the gradient norms, and a hint.
std::string format_divergence(const TrainingDiverged& e);
// Its last line without "hint: ": a rate 10x lower, rounded down to one digit, and lr-find.
std::string divergence_hint(const TrainingDiverged& e);

}  // namespace xg
