#include "core/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace xg {

CentralDifferences central_differences(const std::function<Tensor()>& loss, Tensor input, double h) {
  if (!input.requires_grad()) throw std::invalid_argument("gradient_check: the input does not require a gradient");
  CentralDifferences d;
  // Analytic gradient from one backward pass.
  input.zero_grad();
  loss().backward();
  d.analytic = input.grad();
  d.numeric.resize(input.size());
  float* x = input.data();
  for (std::size_t i = 0; i < input.size(); ++i) {
    const float original = x[i];
    x[i] = float(double(original) + h);
    const double plus = loss().item();
    x[i] = float(double(original) - h);
    const double minus = loss().item();
    const double step = double(float(double(original) + h)) - double(float(double(original) - h));
    x[i] = original;
    d.numeric[i] = (plus - minus) / step;
  }
  return d;
}

GradCheckResult compare_gradients(const CentralDifferences& d, double atol, double rtol,
                                  const std::vector<double>& allowance) {
  if (!allowance.empty() && allowance.size() != d.numeric.size())
    throw std::invalid_argument("compare_gradients: one allowance per element");
  GradCheckResult result;
  double worst_rel = -1.0;
  for (std::size_t i = 0; i < d.numeric.size(); ++i) {
    const double a = d.analytic.data()[i], numeric = d.numeric[i];
    const double abs_error = std::abs(a - numeric);
    const double rel_error = abs_error / std::max({std::abs(a), std::abs(numeric), 1e-3});
    result.max_abs_error = std::max(result.max_abs_error, abs_error);
    if (rel_error > worst_rel) {
      worst_rel = rel_error;
      result.worst_index = i;
      result.worst_analytic = a;
      result.worst_numeric = numeric;
    }
    const double extra = allowance.empty() ? 0.0 : allowance[i];
    if (!(abs_error <= atol + rtol * std::abs(numeric) + extra)) result.passed = false;
  }
  result.max_rel_error = std::max(worst_rel, 0.0);
  return result;
}

GradCheckResult gradient_check(const std::function<Tensor()>& loss, Tensor input, double h, double atol, double rtol) {
  return compare_gradients(central_differences(loss, input, h), atol, rtol);
}

}  // namespace xg
