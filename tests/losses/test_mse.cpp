// losses/mse: the gradient with respect to both the prediction and the target.
#include <doctest/doctest.h>

#include "core/random.hpp"
#include "losses/mse.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: mse in both inputs") {
  Rng rng(17);
  Tensor x = random_tensor({5, 2}, rng, true, 3.0f);
  Tensor target = random_tensor({5, 2}, rng);
  check_gradient([&] { return mse(x, target); }, x, "mse d/dprediction");
  check_gradient([&] { return mse(x, target, Reduction::Sum); }, target, "mse d/dtarget");
}

TEST_CASE("mse is the mean (or sum) of the squared differences") {
  const Tensor prediction(Array{{1.0f, 2.0f}, {3.0f, 4.0f}}), target(Array{{0.0f, 2.0f}, {5.0f, 1.0f}});
  CHECK(mse(prediction, target).item() == doctest::Approx((1.0 + 0.0 + 4.0 + 9.0) / 4.0));
  CHECK(mse(prediction, target, Reduction::Sum).item() == doctest::Approx(14.0));
}
