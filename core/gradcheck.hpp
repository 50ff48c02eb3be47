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
#include <vector>

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

// gradient_check in its two halves, for callers that set each element's
// tolerance themselves (train/parameter_gradcheck.cpp widens it where a nudge
// crosses a kink). central_differences calls `loss` once for the analytic
// gradient (backward), then at x_i + h and x_i - h for each element i in turn;
// numeric[i] divides by the step actually taken once x_i ± h is rounded to float32.
struct CentralDifferences {
  Array analytic;               // input's shape
  std::vector<double> numeric;  // one per element of input
};
CentralDifferences central_differences(const std::function<Tensor()>& loss, Tensor input, double h);
// Element i passes when |analytic - numeric| <= atol + rtol · |numeric| + allowance[i]
// (allowance empty: 0 for every element).
GradCheckResult compare_gradients(const CentralDifferences& d, double atol, double rtol,
                                  const std::vector<double>& allowance = {});

}  // namespace xg
