// The autograd engine of core/tensor: backward accumulates through shared
// sub-expressions until zero_grad, NoGradGuard records no graph, and has_grad
// says whether a backward pass reached a tensor.
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/ops.hpp"
#include "core/sgd_rule.hpp"
#include "core/tensor.hpp"

using namespace xg;

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

TEST_CASE("zero_grad defers its zeros: a reader sees zeros, a backward that overwrites skips them") {
  Tensor x(Array{{1.0f, 2.0f}, {3.0f, -1.0f}}, false);  // (B=2, K=2)
  Tensor w(Array{{0.5f, -1.0f}, {2.0f, 0.25f}, {1.0f, 1.0f}}, true);  // (N=3, K=2)
  Tensor b(Array{0.1f, 0.2f, 0.3f}, true);
  sum(linear(x, w, b)).backward();  // dW[n][k] = Σ_rows x[r][k], db[n] = rows
  const Array once_w = w.grad(), once_b = b.grad();
  CHECK(once_w(0, 0) == 4.0f);
  CHECK(once_b(2) == 2.0f);

  SUBCASE("a reader after zero_grad sees zeros") {
    w.zero_grad();
    CHECK(w.node()->grad_stale);
    CHECK(w.grad()(1, 1) == 0.0f);
    CHECK(!w.node()->grad_stale);
  }
  SUBCASE("grad_to_overwrite tells whether there is a gradient to add to") {
    bool add = false;
    w.node()->grad_to_overwrite(add);
    CHECK(add);  // the gradient of the backward above
    w.zero_grad();
    w.node()->grad_to_overwrite(add);
    CHECK(!add);  // all zeros: overwrite
    Tensor fresh(Array{1.0f}, true);
    fresh.node()->grad_to_overwrite(add);
    CHECK(!add);  // no buffer yet
  }
  SUBCASE("linear's backward overwrites a zeroed gradient and adds to a live one, to the bit") {
    w.zero_grad();
    b.zero_grad();
    w.node()->grad.fill(123.0f);  // what the stale memory holds must not leak in
    b.node()->grad.fill(123.0f);
    sum(linear(x, w, b)).backward();
    CHECK(w.grad() == once_w);
    CHECK(b.grad() == once_b);
    sum(linear(x, w, b)).backward();  // no zero_grad: accumulates
    CHECK(w.grad() == 2.0f * once_w);
    CHECK(b.grad() == 2.0f * once_b);
  }
}

TEST_CASE("a weight asked to update in the backward pass is updated there only when one op alone reads it") {
  // Node::sgd_step: linear's weight-gradient GEMM writes w - lr·dW instead of dW.
  SgdStep step;
  step.lr = 0.5f;
  const Array x0{{1.0f, 2.0f}, {3.0f, -1.0f}};
  auto weights = [] { return Tensor(Array{{0.5f, -1.0f}, {2.0f, 0.25f}, {1.0f, 1.0f}}, true); };
  Tensor x(x0, false), b(Array{0.1f, 0.2f, 0.3f}, true);

  // The gradient stored, then applied by hand (w - lr·g), as the reference.
  Tensor stored = weights();
  sum(linear(x, stored, b)).backward();
  const Array g = stored.grad();

  SUBCASE("one consumer: updated in the backward pass, the gradient not stored") {
    Tensor w = weights();
    w.zero_grad();
    w.node()->sgd_step = &step;
    sum(linear(x, w, b)).backward();
    CHECK(w.node()->updated);
    CHECK_FALSE(w.node()->update_nonfinite);
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(w.data()[i] == doctest::Approx(stored.data()[i] - 0.5f * g.data()[i]));
    CHECK(w.grad()(0, 0) == 0.0f);  // never written: zero_grad's zeros
  }
  SUBCASE("two consumers: the gradient is stored (the other op still needs this weight)") {
    Tensor w = weights();
    w.zero_grad();
    w.node()->sgd_step = &step;
    sum(add(linear(x, w, b), linear(x, w, b))).backward();
    CHECK_FALSE(w.node()->updated);
    for (std::size_t i = 0; i < g.size(); ++i) {
      CHECK(w.data()[i] == stored.data()[i]);
      CHECK(w.grad().data()[i] == 2.0f * g.data()[i]);
    }
  }
  SUBCASE("a gradient already accumulated: stored, added to") {
    Tensor w = weights();
    sum(linear(x, w, b)).backward();  // no zero_grad after it: the next pass adds on
    w.node()->sgd_step = &step;
    sum(linear(x, w, b)).backward();
    CHECK_FALSE(w.node()->updated);
    CHECK(w.grad()(0, 0) == 2.0f * g(0, 0));
  }
}
