// core/gradcheck: the finite-difference check itself must catch a wrong
// gradient, or every gradcheck in the other tests proves nothing.
#include <doctest/doctest.h>

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
