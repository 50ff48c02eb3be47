// core/gradcheck: the finite-difference check itself must catch a wrong
// gradient, or every gradcheck in the other tests proves nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck itself fails for a wrong gradient") {
  // A deliberately wrong gradient must be caught, or the other gradient checks prove nothing.
  Rng rng(10);
  Tensor x = random_tensor({3, 3}, rng);
  auto wrong = [&] {
    Tensor y = sum(mul(x, x));  // true gradient 2x
    y.node()->backward = [](Node& n) { n.parents[0]->grad_buffer() += n.grad.data()[0] * n.parents[0]->value; };
    return y;
  };
  CHECK_FALSE(gradient_check(wrong, x).passed);
}

TEST_CASE("compare_gradients: an element's allowance widens only its own tolerance, and NaN fails") {
  CentralDifferences d;
  d.analytic = Array{1.0f, 2.0f};
  d.numeric = {1.1, 2.0};  // element 0 off by 0.1
  CHECK_FALSE(compare_gradients(d, 1e-4, 1e-2).passed);
  CHECK(compare_gradients(d, 1e-4, 1e-2, {0.1, 0.0}).passed);
  CHECK_FALSE(compare_gradients(d, 1e-4, 1e-2, {0.0, 0.1}).passed);
  const GradCheckResult r = compare_gradients(d, 1e-4, 1e-2, {0.1, 0.0});
  CHECK(r.worst_index == 0);
  CHECK(r.max_abs_error == doctest::Approx(0.1));
  d.numeric[1] = std::nan("");
  CHECK_FALSE(compare_gradients(d, 1e-4, 1e-2, {0.1, 0.0}).passed);
  CHECK_THROWS_AS(compare_gradients(d, 1e-4, 1e-2, {0.1}), std::invalid_argument);
}
