// Softmax, log-softmax and the fused loss: values by hand and at extreme logits.
#include <doctest/doctest.h>

#include <cmath>

#include "losses/softmax_cross_entropy.hpp"

using namespace xg;

namespace {
bool all_finite(const Array& a) {
  for (float v : a)
    if (!std::isfinite(v)) return false;
  return true;
}
}  // namespace

TEST_CASE("softmax and log_softmax by hand") {
  const Array z{{1.0f, 2.0f, 3.0f}};
  const double s = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const Array p = softmax(z), lp = log_softmax(z);
  for (int c = 0; c < 3; ++c) {
    CHECK(p(0, c) == doctest::Approx(std::exp(c + 1.0) / s).epsilon(1e-6));
    CHECK(lp(0, c) == doctest::Approx(c + 1.0 - std::log(s)).epsilon(1e-6));
  }
}

TEST_CASE("extreme logits stay finite and correct") {
  SUBCASE("±1e4: naive exp would overflow") {
    const Array z{{1e4f, -1e4f, 0.0f}, {-1e4f, -1e4f, -1e4f + 1.0f}};
    const Array p = softmax(z), lp = log_softmax(z);
    REQUIRE(all_finite(p));
    REQUIRE(all_finite(lp));
    CHECK(p(0, 0) == 1.0f);
    CHECK(p(0, 1) == 0.0f);
    CHECK(lp(0, 1) == doctest::Approx(-2e4));
    CHECK(lp(0, 2) == doctest::Approx(-1e4));
    // second row: only differences matter, as for (0, 0, 1)
    CHECK(p(1, 2) == doctest::Approx(std::exp(1.0) / (2.0 + std::exp(1.0))));
    Tensor logits(z, true);
    Tensor loss = softmax_cross_entropy(logits, {1, 2});
    // row 0: -log p_1 = 2e4; row 1: log(2 + e) - 1
    CHECK(loss.item() == doctest::Approx((2e4 + std::log(2.0 + std::exp(1.0)) - 1.0) / 2.0));
    loss.backward();
    REQUIRE(all_finite(logits.grad()));
    CHECK(logits.grad()(0, 0) == doctest::Approx(0.5));   // (1 - 0) / B
    CHECK(logits.grad()(0, 1) == doctest::Approx(-0.5));  // (0 - 1) / B
  }
  SUBCASE("all equal: uniform probabilities, loss log C") {
    const Array z = xt::ones<float>({std::size_t(3), std::size_t(10)}) * 1234.0f;
    Tensor logits(z, true);
    Tensor loss = softmax_cross_entropy(logits, {0, 5, 9});
    CHECK(loss.item() == doctest::Approx(std::log(10.0)));
    for (float v : softmax(z)) CHECK(v == doctest::Approx(0.1));
    loss.backward();
    CHECK(logits.grad()(1, 5) == doctest::Approx((0.1 - 1.0) / 3.0));
    CHECK(logits.grad()(1, 4) == doctest::Approx(0.1 / 3.0));
  }
  SUBCASE("one-hot-like: confident and right gives a loss near 0, wrong gives the margin") {
    Tensor right(Array{{50.0f, 0.0f, 0.0f}}), wrong(Array{{50.0f, 0.0f, 0.0f}});
    CHECK(softmax_cross_entropy(right, {0}).item() == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(softmax_cross_entropy(wrong, {1}).item() == doctest::Approx(50.0));
  }
}

TEST_CASE("gradient of the fused loss is (softmax - onehot) / B") {
  const Array z{{0.5f, -1.0f, 2.0f, 0.0f}, {1.0f, 1.0f, -3.0f, 0.25f}};
  Tensor logits(z, true);
  softmax_cross_entropy(logits, {2, 0}).backward();
  const Array p = softmax(z);
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 4; ++c) {
      const double onehot = (i == 0 && c == 2) || (i == 1 && c == 0) ? 1.0 : 0.0;
      CHECK(logits.grad()(i, c) == doctest::Approx((p(i, c) - onehot) / 2.0).epsilon(1e-6));
    }
}

TEST_CASE("labels out of range and count mismatches are errors") {
  Tensor logits = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(logits, {0, 3}),
                       "softmax_cross_entropy: label 3 of row 1 is out of range for 3 classes", std::invalid_argument);
  CHECK_THROWS_AS(softmax_cross_entropy(logits, {0}), std::invalid_argument);
  CHECK_THROWS_AS(softmax(Array{1.0f, 2.0f}), std::invalid_argument);
}
