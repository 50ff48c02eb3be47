// losses/binary_cross_entropy: bce_with_logits's gradient for each reduction
// and pos_weight, and finite values and gradients at extreme logits. (Against
// PyTorch: tests/oracles/layers_losses_optim.)
#include <doctest/doctest.h>

#include <cmath>

#include "core/random.hpp"
#include "losses/binary_cross_entropy.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: bce_with_logits with pos_weight and soft targets, mean and none") {
  Rng rng(17);
  Tensor x = random_tensor({5, 2}, rng, true, 3.0f);
  Array t = Array::from_shape({5, 2});
  for (float& v : t) v = rng.uniform(0.0f, 1.0f);  // soft targets, as torch allows
  Tensor w = random_tensor({5, 2}, rng, false);
  BceOptions o;
  o.pos_weight = {2.0f, 0.5f};
  check_gradient([&] { return bce_with_logits(x, t, o); }, x, "bce mean");
  o.reduction = Reduction::None;
  check_gradient([&] { return weighted_sum(bce_with_logits(x, t, o), w); }, x, "bce none");
}

TEST_CASE("bce_with_logits is finite for logits of ±1e4") {
  Tensor x(Array{1e4f, -1e4f, 1e4f, -1e4f}, true);
  const Array t{1.0f, 0.0f, 0.0f, 1.0f};
  Tensor loss = bce_with_logits(x, t, {{}, Reduction::None});
  CHECK(loss.value()(0) == doctest::Approx(0.0));
  CHECK(loss.value()(1) == doctest::Approx(0.0));
  CHECK(loss.value()(2) == doctest::Approx(1e4));
  CHECK(loss.value()(3) == doctest::Approx(1e4));
  Tensor mean = bce_with_logits(x, t);
  mean.backward();
  for (float g : x.grad()) CHECK(std::isfinite(g));
  CHECK(x.grad()(2) == doctest::Approx(0.25));  // (σ(x) - y) / 4
}
