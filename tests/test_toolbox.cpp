// The toolbox: finite-difference gradient checks for every new differentiable op
// and loss, dropout's statistics, the initialisers' distributions, and the
// optimizers' and schedules' bookkeeping. Their numbers are matched against
// PyTorch in tests/toolbox_oracle/.
#include <doctest/doctest.h>

#include "gradcheck_support.hpp"

#include <cmath>

#include "core/gradcheck.hpp"
#include "core/init.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/activations.hpp"
#include "layers/dropout.hpp"
#include "losses/binary_cross_entropy.hpp"
#include "losses/mse.hpp"
#include "losses/penalties.hpp"
#include "losses/softmax_cross_entropy.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "optim/lr_schedule.hpp"
#include "optim/sgd.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("gradcheck: sigmoid, tanh") {
  Rng rng(11);
  Tensor x = random_tensor({5, 4}, rng, true, 3.0f), w = random_tensor({5, 4}, rng, false);
  check_gradient([&] { return weighted_sum(sigmoid(x), w); }, x, "sigmoid");
  check_gradient([&] { return weighted_sum(xg::tanh(x), w); }, x, "tanh");
}

TEST_CASE("gradcheck: leaky_relu, inputs kept off the kink") {
  Rng rng(12);
  Tensor x = off_kink_tensor({6, 3}, rng), w = random_tensor({6, 3}, rng, false);
  check_gradient([&] { return weighted_sum(leaky_relu(x, 0.2f), w); }, x, "leaky_relu");
}

TEST_CASE("gradcheck: dropout (a fixed seed gives the same mask each call) and masked_scale") {
  Rng rng(13);
  Tensor x = random_tensor({8, 5}, rng), w = random_tensor({8, 5}, rng, false);
  check_gradient(
      [&] {
        Rng mask_rng(99);
        return weighted_sum(dropout(x, 0.3f, mask_rng), w);
      },
      x, "dropout");
  Array mask = random_tensor({8, 5}, rng, false).value();
  check_gradient([&] { return weighted_sum(masked_scale(x, mask), w); }, x, "masked_scale");
}

TEST_CASE("gradcheck: sum_squares, sum_abs and the weight penalties") {
  Rng rng(14);
  Tensor a = off_kink_tensor({4, 3}, rng), b = off_kink_tensor({3}, rng);
  check_gradient([&] { return sum_squares(a); }, a, "sum_squares");
  check_gradient([&] { return sum_abs(a); }, a, "sum_abs");
  check_gradient([&] { return add(l1_penalty({a, b}), scale(l2_penalty({a, b}), 0.5f)); }, b, "penalties");
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

TEST_CASE("gradcheck: bce_with_logits with pos_weight, and mse in both inputs") {
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
  Tensor target = random_tensor({5, 2}, rng);
  check_gradient([&] { return mse(x, target); }, x, "mse d/dprediction");
  check_gradient([&] { return mse(x, target, Reduction::Sum); }, target, "mse d/dtarget");
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

TEST_CASE("Dropout keeps a fraction 1-p, scales by 1/(1-p), is seeded, and is the identity in eval()") {
  const float p = 0.3f;
  Tensor x(xt::ones<float>(Shape{200, 500}));
  Dropout drop(p, 5);
  Tensor y = drop(x);
  std::size_t kept = 0;
  for (float v : y.value()) {
    if (v != 0.0f) {
      ++kept;
      CHECK(v == doctest::Approx(1.0f / (1.0f - p)));
    }
  }
  const double fraction = double(kept) / double(x.size());
  CHECK(fraction == doctest::Approx(1.0 - p).epsilon(0.01));  // 100k draws: σ ≈ 0.0015
  Dropout same(p, 5);
  CHECK(same(x).value() == y.value());
  drop.eval();
  Tensor z = drop(x);
  CHECK(z.node() == x.node());
  CHECK_THROWS_AS(Dropout(1.0f), std::invalid_argument);
}

TEST_CASE("activation modules and make_activation") {
  Tensor x(Array{-2.0f, 0.5f});
  CHECK(make_activation("leaky_relu")->forward(x).value()(0) == doctest::Approx(-0.02));
  CHECK(make_activation("sigmoid")->forward(x).value()(1) == doctest::Approx(1.0 / (1.0 + std::exp(-0.5))));
  CHECK(make_activation("tanh")->forward(x).value()(0) == doctest::Approx(std::tanh(-2.0)));
  CHECK(make_activation("relu")->forward(x).value()(0) == 0.0f);
  CHECK_THROWS_AS(make_activation("gelu"), std::invalid_argument);
  // sigmoid of huge logits: no overflow, exact limits
  Tensor big(Array{-1e4f, 1e4f});
  CHECK(sigmoid(big).value()(0) == 0.0f);
  CHECK(sigmoid(big).value()(1) == 1.0f);
}

TEST_CASE("initialisers draw from torch.nn.init's distributions, seeded") {
  Array w = Array::from_shape({300, 400});  // (out, in): fan_in 400, fan_out 300
  auto stats = [&](double& max_abs, double& stddev) {
    double sq = 0.0;
    max_abs = 0.0;
    for (float v : w) {
      sq += double(v) * v;
      max_abs = std::max(max_abs, std::fabs(double(v)));
    }
    stddev = std::sqrt(sq / double(w.size()));
  };
  double max_abs, sd;
  Rng rng(1);
  const float gain = calculate_gain("relu");
  kaiming_uniform(w, rng, gain);
  stats(max_abs, sd);
  const double b = std::sqrt(2.0) * std::sqrt(3.0 / 400.0);
  CHECK(max_abs <= b);
  CHECK(max_abs > 0.99 * b);
  CHECK(sd == doctest::Approx(b / std::sqrt(3.0)).epsilon(0.01));
  kaiming_normal(w, rng, gain, FanMode::FanOut);
  stats(max_abs, sd);
  CHECK(sd == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.01));
  xavier_uniform(w, rng);
  stats(max_abs, sd);
  CHECK(max_abs <= std::sqrt(6.0 / 700.0));
  CHECK(sd == doctest::Approx(std::sqrt(2.0 / 700.0)).epsilon(0.01));
  xavier_normal(w, rng, calculate_gain("tanh"));
  stats(max_abs, sd);
  CHECK(sd == doctest::Approx(5.0 / 3.0 * std::sqrt(2.0 / 700.0)).epsilon(0.01));
  fill_zeros(w);
  stats(max_abs, sd);
  CHECK(max_abs == 0.0);
  Array a = Array::from_shape({3, 4}), b2 = Array::from_shape({3, 4});
  Rng r1(7), r2(7);
  xavier_uniform(a, r1);
  xavier_uniform(b2, r2);
  CHECK(a == b2);
  CHECK(calculate_gain("leaky_relu", 0.2f) == doctest::Approx(std::sqrt(2.0 / 1.04)));
}

TEST_CASE("SGD rejects Nesterov without momentum; weight decay without momentum") {
  Tensor w(Array{1.0f}, true);
  CHECK_THROWS_AS(SGD({w}, 0.1f, SGDOptions{0.0f, 0.0f, true, 0.0f}), std::invalid_argument);
  CHECK_THROWS_AS(SGD({w}, 0.1f, SGDOptions{0.9f, 0.1f, true, 0.0f}), std::invalid_argument);
  SGD sgd({w}, 0.5f, SGDOptions{0.0f, 0.0f, false, 0.1f});
  sum_squares(w).backward();  // g = 2w = 2, plus λw = 0.1
  sgd.step();
  CHECK(w.value()(0) == doctest::Approx(1.0 - 0.5 * 2.1));
}

TEST_CASE("Adam's first step moves each weight by lr against the gradient's sign") {
  Tensor w(Array{1.0f, -1.0f, 3.0f}, true);
  Adam adam({w}, 0.01f);
  sum(mul(w, Tensor(Array{0.5f, -2.0f, 1e-3f}))).backward();
  adam.step();  // m̂ = g, v̂ = g²: the update is lr · g/|g| (up to eps)
  CHECK(w.value()(0) == doctest::Approx(0.99));
  CHECK(w.value()(1) == doctest::Approx(-0.99));
  CHECK(w.value()(2) == doctest::Approx(2.99));
  CHECK(adam.steps() == 1);
}

TEST_CASE("clip_grad_norm scales the global norm down to max_norm") {
  Tensor a(Array{3.0f}, true), b(Array{4.0f, 0.0f}, true);
  a.grad()(0) = 3.0f;
  b.grad()(0) = 4.0f;
  CHECK(clip_grad_norm({a, b}, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad()(0) == doctest::Approx(0.6));
  CHECK(b.grad()(0) == doctest::Approx(0.8));
  CHECK(clip_grad_norm({a, b}, 10.0) == doctest::Approx(1.0));
  CHECK(a.grad()(0) == doctest::Approx(0.6));  // under the limit: unchanged
}

TEST_CASE("schedules: cosine per epoch, warm-up, step, plateau") {
  CosineAnnealingLR cosine(0.1, 10);
  CHECK(cosine.lr() == doctest::Approx(0.1));
  for (int i = 0; i < 5; ++i) cosine.step();
  CHECK(cosine.lr() == doctest::Approx(0.05));
  LinearWarmup warm(std::make_unique<StepLR>(1.0, 2, 0.5), 4, 0.25);
  std::vector<double> seen;
  for (int i = 0; i < 8; ++i) {
    seen.push_back(warm.lr());
    warm.step();
  }
  const std::vector<double> expected{0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0, 0.5, 0.5};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(seen[i] == doctest::Approx(expected[i]));
  ReduceLROnPlateau plateau(1.0, {0.5, 1, 1e-4, 0, 0.0});
  plateau.step(1.0);
  plateau.step(1.0);  // 1 bad step: within patience
  CHECK(plateau.lr() == 1.0);
  plateau.step(1.0);  // 2 bad steps > patience 1
  CHECK(plateau.lr() == 0.5);
  CHECK_THROWS_AS(plateau.step(), std::invalid_argument);
}
