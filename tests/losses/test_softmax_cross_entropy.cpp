// losses/softmax_cross_entropy: softmax, log-softmax, the fused loss and
// cross_entropy with its options: values by hand and at extreme logits, and
// finite-difference gradient checks. (Against PyTorch: tests/oracles/.)
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/random.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "tests/support/gradcheck.hpp"

using namespace xg;
using namespace xg::testing;

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

// cross_entropy against the same loss written out in double precision: with ℓ_c = -log softmax(z)_c,
// the smoothed target q_c = (1-ε)[c = y] + ε/C and class weights w, each row's term is
//   loss_i = Σ_c a_c ℓ_c,  a_c = w_c q_c          (PyTorch's (1-ε) w_y ℓ_y + (ε/C) Σ_c w_c ℓ_c)
//   d loss_i / d z_c = (Σ_k a_k) softmax(z)_c - a_c  (from d ℓ_k / d z_c = softmax(z)_c - [c = k]),
// and Mean divides the sum of the rows by Σ_i w_{y_i} (by B without weights).
TEST_CASE("cross_entropy with label smoothing and class weights by hand") {
  const double z[3][4] = {{0.5, -1.0, 2.0, 0.0}, {1.0, 1.0, -3.0, 0.25}, {-0.5, 0.75, 0.125, 1.5}};
  const std::vector<std::uint32_t> labels{2, 0, 3};
  const double eps = 0.2;
  for (const bool weighted : {false, true}) {
    CAPTURE(weighted);
    // With weights, Σ_i w_{y_i} = 4.5 is not B = 3: a Mean that divides by B shows.
    const double w[4] = {weighted ? 0.5 : 1.0, weighted ? 2.0 : 1.0, 1.0, weighted ? 3.0 : 1.0};
    double expected_rows[3], expected_grad[3][4], total = 0.0, denominator = 0.0;
    for (int i = 0; i < 3; ++i) {
      double s = 0.0;
      for (int c = 0; c < 4; ++c) s += std::exp(z[i][c]);
      double a[4], a_sum = 0.0, row = 0.0;
      for (int c = 0; c < 4; ++c) {
        a[c] = w[c] * ((c == int(labels[i]) ? 1.0 - eps : 0.0) + eps / 4.0);
        a_sum += a[c];
        row += a[c] * (std::log(s) - z[i][c]);
      }
      for (int c = 0; c < 4; ++c) expected_grad[i][c] = a_sum * std::exp(z[i][c]) / s - a[c];
      expected_rows[i] = row;
      total += row;
      denominator += w[labels[i]];
    }
    CrossEntropyOptions o;
    o.label_smoothing = float(eps);
    if (weighted) o.weight = {float(w[0]), float(w[1]), float(w[2]), float(w[3])};
    Array values = Array::from_shape({3, 4});
    for (int i = 0; i < 3; ++i)
      for (int c = 0; c < 4; ++c) values(i, c) = float(z[i][c]);

    for (const Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
      const std::string reduction_name = reduction == Reduction::Mean ? "Mean" : "Sum";
      CAPTURE(reduction_name);
      const double factor = reduction == Reduction::Mean ? 1.0 / denominator : 1.0;
      o.reduction = reduction;
      Tensor logits(values, true);
      Tensor loss = cross_entropy(logits, labels, o);
      CHECK(loss.item() == doctest::Approx(total * factor).epsilon(1e-6));
      loss.backward();
      for (int i = 0; i < 3; ++i)
        for (int c = 0; c < 4; ++c) CHECK(logits.grad()(i, c) == doctest::Approx(expected_grad[i][c] * factor).epsilon(1e-6));
    }
    o.reduction = Reduction::None;
    const Array rows = cross_entropy(Tensor(values), labels, o).value();
    REQUIRE(rows.size() == 3);
    for (int i = 0; i < 3; ++i) CHECK(rows(i) == doctest::Approx(expected_rows[i]).epsilon(1e-6));
  }
}

TEST_CASE("labels out of range and count mismatches are errors") {
  Tensor logits = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(logits, {0, 3}),
                       "softmax_cross_entropy: label 3 of row 1 is out of range for 3 classes", std::invalid_argument);
  CHECK_THROWS_AS(softmax_cross_entropy(logits, {0}), std::invalid_argument);
  CHECK_THROWS_AS(softmax(Array{1.0f, 2.0f}), std::invalid_argument);
}

TEST_CASE("gradcheck: fused softmax_cross_entropy") {
  Rng rng(8);
  Tensor z = random_tensor({6, 5}, rng);
  for (float& v : z.value()) v *= 3.0f;
  const std::vector<std::uint32_t> labels{0, 4, 2, 2, 1, 3};
  check_gradient([&] { return softmax_cross_entropy(z, labels); }, z, "d/dlogits");
}

TEST_CASE("gradcheck: cross_entropy with label smoothing, class weights and every reduction") {
  Rng rng(15);
  Tensor z = random_tensor({6, 4}, rng, true, 2.0f);
  const std::vector<std::uint32_t> y{0, 3, 1, 1, 2, 3};
  Tensor row_weights = random_tensor({6}, rng, false);
  for (const Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    CrossEntropyOptions o;
    o.label_smoothing = 0.15f;
    o.weight = {0.5f, 2.0f, 1.0f, 1.5f};
    o.reduction = r;
    auto loss = [&] {
      Tensor l = cross_entropy(z, y, o);
      return r == Reduction::None ? weighted_sum(l, row_weights) : l;
    };
    check_gradient(loss, z, "cross_entropy");
  }
}

TEST_CASE("cross_entropy with default options is softmax_cross_entropy") {
  Rng rng(16);
  Tensor z = random_tensor({5, 3}, rng, true, 4.0f);
  const std::vector<std::uint32_t> y{2, 0, 1, 1, 0};
  Tensor a = cross_entropy(z, y, {});
  a.backward();
  const Array ga = z.grad();
  z.zero_grad();
  Tensor b = softmax_cross_entropy(z, y);
  b.backward();
  CHECK(a.item() == doctest::Approx(b.item()).epsilon(1e-6));
  for (std::size_t i = 0; i < ga.size(); ++i) CHECK(ga.data()[i] == doctest::Approx(z.grad().data()[i]).epsilon(1e-5));
  CrossEntropyOptions bad;
  bad.weight = {1.0f, 2.0f};
  CHECK_THROWS_AS(cross_entropy(z, y, bad), std::invalid_argument);
}
