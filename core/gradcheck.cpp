#include "core/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace xg {

GradCheckResult gradient_check(const std::function<Tensor()>& loss, Tensor input, double h, double atol, double rtol) {
  if (!input.requires_grad()) throw std::invalid_argument("gradient_check: the input does not require a gradient");
  // Analytic gradient from one backward pass.
  input.zero_grad();
  loss().backward();
  const Array analytic = input.grad();

  GradCheckResult result;
  double worst_rel = -1.0;
  float* x = input.data();
  for (std::size_t i = 0; i < input.size(); ++i) {
    const float original = x[i];
    x[i] = float(double(original) + h);
    const double plus = loss().item();
    x[i] = float(double(original) - h);
    const double minus = loss().item();
    const double step = double(float(double(original) + h)) - double(float(double(original) - h));
    x[i] = original;
    const double numeric = (plus - minus) / step;
    const double a = analytic.data()[i];
    const double abs_error = std::abs(a - numeric);
    const double rel_error = abs_error / std::max({std::abs(a), std::abs(numeric), 1e-3});
    result.max_abs_error = std::max(result.max_abs_error, abs_error);
    if (rel_error > worst_rel) {
      worst_rel = rel_error;
      result.worst_index = i;
      result.worst_analytic = a;
      result.worst_numeric = numeric;
    }
    if (abs_error > atol + rtol * std::abs(numeric)) result.passed = false;
  }
  result.max_rel_error = std::max(worst_rel, 0.0);
  return result;
}

}  // namespace xg
