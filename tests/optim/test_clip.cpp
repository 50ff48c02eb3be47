// optim/clip: clip_grad_norm scales every gradient by one factor so that the
// global norm is at most max_norm, and returns the norm before clipping.
#include <doctest/doctest.h>

#include "optim/clip.hpp"

using namespace xg;

TEST_CASE("clip_grad_norm scales the global norm down to max_norm") {
  Tensor a(Array{3.0f}, true), b(Array{4.0f, 0.0f}, true);
  a.grad()(0) = 3.0f;
  b.grad()(0) = 4.0f;
  CHECK(clip_grad_norm({a, b}, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad()(0) == doctest::Approx(0.6));
  CHECK(b.grad()(0) == doctest::Approx(0.8));
  CHECK(clip_grad_norm({a, b}, 10.0) == doctest::Approx(1.0));
  CHECK(a.grad()(0) == doctest::Approx(0.6));  // under the limit: unchanged
}
