// optim/sgd: torch.optim.SGD's formulas with momentum, no state without it,
// and the option combinations it refuses. (Ten steps of every option against
// PyTorch: tests/oracles/layers_losses_optim.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>


#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "optim/sgd.hpp"
#include "tests/support/threads.hpp"

using namespace xg;

TEST_CASE("SGD with momentum follows torch.optim.SGD's formulas") {
  // loss = Σ w·g_fixed, so the gradient is g_fixed at every step.
  Tensor w(Array{1.0f, -2.0f}, true);
  const Tensor g(Array{0.5f, 1.0f});
  SGD sgd({w}, 0.1f, 0.9f);
  auto step = [&] {
    sgd.zero_grad();
    sum(mul(w, g)).backward();
    sgd.step();
  };
  step();  // v = g;           w = w - 0.1 g
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.05));
  step();  // v = 0.9 g + g;   w -= 0.1 · 1.9 g
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.05 - 0.095));
  CHECK(w.value()(1) == doctest::Approx(-2.0 - 0.1 - 0.19));
  CHECK(sgd.velocities()[0](1) == doctest::Approx(1.9));
}

TEST_CASE("SGD without momentum keeps no state") {
  Tensor w(Array{1.0f}, true);
  SGD sgd({w}, 0.5f);
  sum(mul(w, w)).backward();  // gradient 2w = 2
  sgd.step();
  CHECK(w.value()(0) == doctest::Approx(0.0));
  CHECK(sgd.velocities().empty());
}


TEST_CASE("SGD rejects Nesterov without momentum, and applies weight decay without momentum") {
  Tensor w(Array{1.0f}, true);
  CHECK_THROWS_AS(SGD({w}, 0.1f, SGDOptions{0.0f, 0.0f, true, 0.0f}), std::invalid_argument);
  CHECK_THROWS_AS(SGD({w}, 0.1f, SGDOptions{0.9f, 0.1f, true, 0.0f}), std::invalid_argument);
  SGD sgd({w}, 0.5f, SGDOptions{0.0f, 0.0f, false, 0.1f});
  sum_squares(w).backward();  // g = 2w = 2, plus λw = 0.1
  sgd.step();
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.5 * 2.1));
}

TEST_CASE("SGD's step says whether it left every weight finite, with and without momentum") {
  for (const float momentum : {0.0f, 0.9f}) {
    CAPTURE(momentum);
    // One step of SGD({a, b}, lr 0.1) from b = b0 with gradients 1 (a) and g (b).
    auto finite_after_step = [&](float b0, float g) {
      Tensor a(Array{1.0f, 2.0f}, true), b(Array{b0}, true);
      SGD sgd({a, b}, 0.1f, momentum);
      a.grad().fill(1.0f);
      b.grad().fill(g);
      sgd.step();
      return sgd.step_left_parameters_finite();
    };
    CHECK(finite_after_step(3.0f, 1.0f));
    CHECK_FALSE(finite_after_step(3.4e38f, -1e37f));  // finite weight and gradient, the update overflows
    CHECK_FALSE(finite_after_step(3.0f, std::nanf("")));
    CHECK_FALSE(finite_after_step(3.0f, std::numeric_limits<float>::infinity()));
  }
}

TEST_CASE("SGD's step gives the same bits with 1 and 2 threads and sees a NaN in any thread's slice") {
  // Large enough to run on the threads, each updating its slice of every parameter
  // (sgd.cpp), with an odd length; a small second parameter beside it.
  const std::size_t n = 150001;
  auto run = [&](int threads, std::size_t nan_at, bool& finite) {
    Array w0 = Array::from_shape({n}), g = Array::from_shape({n});
    for (std::size_t j = 0; j < n; ++j) {
      w0(j) = std::sin(0.001f * float(j));
      g(j) = std::cos(0.003f * float(j));
    }
    if (nan_at < n) g(nan_at) = std::nanf("");
    Tensor w(w0, true), b(Array{0.5f, -0.5f}, true);
    SGD sgd({w, b}, 0.1f, SGDOptions{0.9f, 0.1f, false, 1e-3f});
    {
      const xg::testing::ScopedThreads scope(threads);
      for (int step = 0; step < 3; ++step) {
        w.grad().assign(g);
        b.grad().fill(1.0f);
        sgd.step();
      }
    }
    finite = sgd.step_left_parameters_finite();
    std::vector<float> out(w.data(), w.data() + n);
    out.insert(out.end(), sgd.velocities()[0].data(), sgd.velocities()[0].data() + n);
    out.insert(out.end(), b.data(), b.data() + 2);
    return out;
  };
  bool finite1 = false, finite2 = false;
  const std::vector<float> one = run(1, n, finite1), two = run(2, n, finite2);
  CHECK(finite1);
  CHECK(finite2);
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  for (const std::size_t nan_at : {std::size_t(0), n / 2, n - 1}) {
    CAPTURE(nan_at);
    bool finite = true;
    run(2, nan_at, finite);
    CHECK_FALSE(finite);
  }
}

TEST_CASE("SGD's step wakes the other thread only for weights the backward pass has not updated") {
  // A weight large enough for the threads, updated in the backward pass (as its
  // weight-gradient GEMM does), and a small bias left to step(): the bias alone
  // is too little to pay for a pooled call, so step() makes none; with the
  // weight's update left to it too, it makes one.
  const xg::testing::ScopedThreads scope(2);
  Tensor w(Array::from_shape({150001}), true), b(Array{0.5f, -0.5f}, true);
  w.value().fill(1.0f);
  SGD sgd({w, b}, 0.1f, 0.0f);
  b.grad().fill(1.0f);
  REQUIRE(sgd.begin_update_in_backward());
  w.node()->updated = true;  // what gemm_sgd_update_w marks
  const unsigned long long before = BackgroundTask::pooled_calls();
  sgd.step();
  CHECK(BackgroundTask::pooled_calls() == before);
  CHECK(w.data()[0] == 1.0f);  // left alone: already updated
  CHECK(b.data()[0] == doctest::Approx(0.4f));
  w.grad().fill(1.0f);
  b.grad().fill(1.0f);
  sgd.step();  // nothing updated in a backward pass: step() does all of it, on the threads
  CHECK(BackgroundTask::pooled_calls() == before + 1);
  CHECK(w.data()[0] == doctest::Approx(0.9f));
  CHECK(w.data()[150000] == doctest::Approx(0.9f));
}
