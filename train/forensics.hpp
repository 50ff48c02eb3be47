#pragma once
// Divergence forensics: what the model looked like at the step where training
// blew up, and the lines `xgrad` prints about it.
#include <string>
#include <utility>
#include <vector>

#include "train/loop.hpp"
#include "layers/module.hpp"

namespace xg {

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

// max |x| over a tensor's finite values (0 if none), and how many are not finite.
float max_abs_finite(const Tensor& t, std::size_t* nonfinite);

// Fills e's forensic fields from the step's logits and the model's gradients.
void record_forensics(TrainingDiverged& e, const Tensor& logits, const Module& model);

// The lines printed on stderr (each ending in '\n'): where it happened, the
// last good loss, max |logit|, the gradient norms, and a hint.
std::string format_divergence(const TrainingDiverged& e);

}  // namespace xg
