// Finite-difference gradient checks for every differentiable op, and the
// engine's bookkeeping: accumulation, topological order, NoGradGuard.
#include <doctest/doctest.h>

#include "gradcheck_support.hpp"

#include <cmath>

#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "losses/softmax_cross_entropy.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: matmul") {
  Rng rng(1);
  Tensor a = random_tensor({5, 7}, rng), b = random_tensor({7, 3}, rng), w = random_tensor({5, 3}, rng, false);
  auto loss = [&] { return weighted_sum(matmul(a, b), w); };
  check_gradient(loss, a, "d/da");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: matmul_nt") {
  Rng rng(2);
  Tensor a = random_tensor({4, 6}, rng), b = random_tensor({3, 6}, rng), w = random_tensor({4, 3}, rng, false);
  auto loss = [&] { return weighted_sum(matmul_nt(a, b), w); };
  check_gradient(loss, a, "d/da");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: linear") {
  Rng rng(3);
  Tensor x = random_tensor({6, 5}, rng), wt = random_tensor({4, 5}, rng), b = random_tensor({4}, rng),
         w = random_tensor({6, 4}, rng, false);
  auto loss = [&] { return weighted_sum(linear(x, wt, b), w); };
  check_gradient(loss, x, "d/dx");
  check_gradient(loss, wt, "d/dW");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: add_bias") {
  Rng rng(4);
  Tensor x = random_tensor({5, 3}, rng), b = random_tensor({3}, rng), w = random_tensor({5, 3}, rng, false);
  auto loss = [&] { return weighted_sum(add_bias(x, b), w); };
  check_gradient(loss, x, "d/dx");
  check_gradient(loss, b, "d/db");
}

TEST_CASE("gradcheck: relu, inputs kept off the kink") {
  Rng rng(5);
  Tensor x = off_kink_tensor({6, 4}, rng), w = random_tensor({6, 4}, rng, false);
  check_gradient([&] { return weighted_sum(relu(x), w); }, x, "d/dx");
}

TEST_CASE("gradcheck: sum and mean") {
  Rng rng(6);
  Tensor x = random_tensor({3, 4}, rng), w = random_tensor({3, 4}, rng, false);
  check_gradient([&] { return sum(mul(x, x)); }, x, "sum");
  check_gradient([&] { return mean(mul(x, w)); }, x, "mean");
}

TEST_CASE("gradcheck: add, mul, scale") {
  Rng rng(7);
  Tensor a = random_tensor({4, 3}, rng), b = random_tensor({4, 3}, rng), w = random_tensor({4, 3}, rng, false);
  check_gradient([&] { return weighted_sum(add(a, b), w); }, a, "add d/da");
  check_gradient([&] { return weighted_sum(add(a, b), w); }, b, "add d/db");
  check_gradient([&] { return weighted_sum(mul(a, b), w); }, a, "mul d/da");
  check_gradient([&] { return weighted_sum(mul(a, b), w); }, b, "mul d/db");
  check_gradient([&] { return weighted_sum(scale(a, -2.5f), w); }, a, "scale");
  Tensor v = random_tensor({7}, rng), wv = random_tensor({7}, rng, false);
  check_gradient([&] { return weighted_sum(scale(v, 3.0f), wv); }, v, "scale, rank 1");
}

TEST_CASE("gradcheck: fused softmax_cross_entropy") {
  Rng rng(8);
  Tensor z = random_tensor({6, 5}, rng);
  for (float& v : z.value()) v *= 3.0f;
  const std::vector<std::uint32_t> labels{0, 4, 2, 2, 1, 3};
  check_gradient([&] { return softmax_cross_entropy(z, labels); }, z, "d/dlogits");
}

TEST_CASE("gradcheck: a two-layer MLP's loss, every parameter") {
  Rng rng(9);
  Tensor x = random_tensor({8, 6}, rng, false);
  Tensor w1 = random_tensor({5, 6}, rng), b1 = random_tensor({5}, rng);
  Tensor w2 = random_tensor({3, 5}, rng), b2 = random_tensor({3}, rng);
  const std::vector<std::uint32_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
  auto loss = [&] { return softmax_cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels); };
  // Keep hidden pre-activations away from ReLU's kink for this draw.
  {
    NoGradGuard no_grad;
    Tensor h = linear(x, w1, b1);
    float nearest = 1.0f;
    for (float v : h.value()) nearest = std::min(nearest, std::abs(v));
    REQUIRE(nearest > 0.02f);
  }
  check_gradient(loss, w1, "W1");
  check_gradient(loss, b1, "b1");
  check_gradient(loss, w2, "W2");
  check_gradient(loss, b2, "b2");
}

TEST_CASE("gradcheck itself fails for a wrong gradient") {
  // A deliberately wrong gradient must be caught, or the checks above prove nothing.
  Rng rng(10);
  Tensor x = random_tensor({3, 3}, rng);
  auto wrong = [&] {
    Tensor y = sum(mul(x, x));  // true gradient 2x
    y.node()->backward = [](Node& n) { n.parents[0]->grad_buffer() += n.grad.data()[0] * n.parents[0]->value; };
    return y;
  };
  CHECK_FALSE(gradient_check(wrong, x).passed);
}

TEST_CASE("backward accumulates until zero_grad, through shared sub-expressions") {
  Tensor x(Array{{1.0f, -2.0f}}, true);
  Tensor y = add(mul(x, x), x);  // x used twice: dy/dx = 2x + 1
  sum(y).backward();
  CHECK(x.grad()(0, 0) == doctest::Approx(3.0));
  CHECK(x.grad()(0, 1) == doctest::Approx(-3.0));
  sum(y).backward();  // a second backward accumulates
  CHECK(x.grad()(0, 0) == doctest::Approx(6.0));
  x.zero_grad();
  CHECK(x.grad()(0, 0) == 0.0f);
}

TEST_CASE("NoGradGuard records no graph") {
  Tensor x(Array{{1.0f, 2.0f}}, true);
  {
    NoGradGuard guard;
    Tensor y = sum(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node()->parents[0] == nullptr);
    CHECK_THROWS_AS(y.backward(), std::logic_error);
  }
  CHECK(sum(x).requires_grad());
}

TEST_CASE("shape errors name the op and both shapes") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    matmul(a, b);
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "matmul: inner dimensions differ, (2, 3) · (4, 5)");
  }
  CHECK_THROWS_AS(add(a, b), std::invalid_argument);
  CHECK_THROWS_AS(Tensor::zeros({2, 2}).backward(), std::invalid_argument);
}

TEST_CASE("has_grad: false until a backward pass reaches the tensor, for scalars as for matrices") {
  xg::Tensor scale(xg::Array(xt::xarray<float>(2.0f)), /*requires_grad=*/true);  // rank 0
  xg::Tensor w(xg::Array(xt::xarray<float>{{1.0f, 2.0f}}), /*requires_grad=*/true);
  xg::Tensor unused(xg::Array(xt::xarray<float>(5.0f)), /*requires_grad=*/true);
  CHECK(!scale.has_grad());  // a default 0-d array already has one element: size alone cannot tell
  CHECK(!w.has_grad());
  xg::Tensor loss = xg::sum(xg::mul(w, w));
  loss = xg::mul(loss, scale);
  loss.backward();
  CHECK(scale.has_grad());
  CHECK(w.has_grad());
  CHECK(!unused.has_grad());
  CHECK(scale.grad()() == doctest::Approx(5.0f));  // d(s * sum w^2)/ds = 1 + 4
  CHECK(w.grad()(0, 1) == doctest::Approx(8.0f));  // 2 * s * w
}
