#pragma once
// Finite-difference gradient checking: compares the gradient that backward()
// computes with the slope measured by nudging each input element.
//
//   numeric_i = (f(x + h e_i) - f(x - h e_i)) / 2h       (central difference)
//
// The central difference's error is O(h²) for smooth f, and zero for the
// linear and bilinear ops (matmul, add, mul), so h can be large enough
// (default 1e-2) that float32 rounding in f stays small next to 2h; the
// differences and the quotient are taken in double precision.
#include <cstddef>
#include <functional>

#include "core/tensor.hpp"

namespace xg {

struct GradCheckResult {
  double max_abs_error = 0.0;  // max |analytic - numeric| over the elements
  double max_rel_error = 0.0;  // max |analytic - numeric| / max(|analytic|, |numeric|, 1e-3)
  std::size_t worst_index = 0;  // flat index of the element with the largest relative error
  double worst_analytic = 0.0, worst_numeric = 0.0;
  bool passed = true;  // every element within atol + rtol · |numeric|
};

// `loss` recomputes a scalar from the current values of its captured tensors,
// `input` among them; `input` must require a gradient.
GradCheckResult gradient_check(const std::function<Tensor()>& loss, Tensor input, double h = 1e-2,
                               double atol = 1e-4, double rtol = 1e-2);

}  // namespace xg
