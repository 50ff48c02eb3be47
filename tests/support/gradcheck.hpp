#pragma once
// Helpers for the finite-difference gradient checks of the tests.
#include <doctest/doctest.h>

#include <functional>

#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"

namespace xg::testing {

// Uniform in [-range, range).
inline Tensor random_tensor(const Shape& shape, Rng& rng, bool requires_grad = true, float range = 1.0f) {
  Array a = Array::from_shape(shape);
  for (float& v : a) v = rng.uniform(-range, range);
  return Tensor(std::move(a), requires_grad);
}

// Values in ±[0.1, 1]: at least 0.1 away from the kinks of relu, leaky_relu and
// |x|, more than the finite-difference step h.
inline Tensor off_kink_tensor(const Shape& shape, Rng& rng) {
  Array a = Array::from_shape(shape);
  for (float& v : a) v = (rng.uniform(0.0f, 1.0f) < 0.5f ? -1.0f : 1.0f) * rng.uniform(0.1f, 1.0f);
  return Tensor(std::move(a), true);
}

// Reduces any tensor to a scalar with fixed random weights, so that every
// element's gradient differs (a plain sum would hide transposition bugs).
inline Tensor weighted_sum(const Tensor& t, const Tensor& weights) { return sum(mul(t, weights)); }

// CHECKs that backward's gradient of `loss` with respect to `input` matches
// central differences (core/gradcheck.hpp); reports the worst element if not.
inline void check_gradient(const std::function<Tensor()>& loss, const Tensor& input, const char* what) {
  const GradCheckResult r = gradient_check(loss, input);
  INFO(what << ": max abs error " << r.max_abs_error << ", worst element " << r.worst_index << " analytic "
            << r.worst_analytic << " numeric " << r.worst_numeric);
  CHECK(r.passed);
}

}  // namespace xg::testing
