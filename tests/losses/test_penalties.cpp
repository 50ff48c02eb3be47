// losses/penalties: L1 and L2 penalties over the weights (not the biases):
// values, gradients, and which parameters count as weights.
#include <doctest/doctest.h>

#include <vector>

#include "core/ops.hpp"
#include "core/random.hpp"
#include "losses/penalties.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: the L1 and L2 weight penalties") {
  Rng rng(14);
  Tensor a = off_kink_tensor({4, 3}, rng), b = off_kink_tensor({3}, rng);
  check_gradient([&] { return add(l1_penalty({a, b}), scale(l2_penalty({a, b}), 0.5f)); }, a, "penalties d/da");
  check_gradient([&] { return add(l1_penalty({a, b}), scale(l2_penalty({a, b}), 0.5f)); }, b, "penalties d/db");
}

TEST_CASE("l1_penalty is the sum of |w|, l2_penalty the sum of w², over every tensor given") {
  Tensor a(Array{{1.0f, -2.0f}, {0.5f, 0.0f}}, true), b(Array{-3.0f}, true);
  CHECK(l1_penalty({a, b}).item() == doctest::Approx(1.0 + 2.0 + 0.5 + 3.0));
  CHECK(l2_penalty({a, b}).item() == doctest::Approx(1.0 + 4.0 + 0.25 + 9.0));
}

TEST_CASE("weights_only keeps the weight matrices of a model's named parameters, not the biases") {
  const Tensor w0 = Tensor::zeros({3, 2}), b0 = Tensor::zeros({3}), w2 = Tensor::zeros({1, 3}), b2 = Tensor::zeros({1});
  const std::vector<Tensor> weights = weights_only({{"0.weight", w0}, {"0.bias", b0}, {"2.weight", w2}, {"2.bias", b2}});
  REQUIRE(weights.size() == 2);
  CHECK(weights[0].node() == w0.node());
  CHECK(weights[1].node() == w2.node());
}
