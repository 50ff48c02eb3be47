// train/forensics: the finite-gradient check, per-layer gradient norms, the
// logits' figures and the lines printed when a run diverges. (A diverging
// `xgrad train`: tests/apps/test_train_command.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/random.hpp"
#include "layers/sequential.hpp"
#include "train/forensics.hpp"
#include "tests/support/threads.hpp"

using namespace xg;

TEST_CASE("forensics: gradients_finite spots inf and NaN, per-layer norms add up to the global one") {
  Rng rng(0);
  auto model = make_mlp({5, 4, 3}, rng);
  std::vector<Tensor> ps = model->parameters();
  for (Tensor& p : ps) p.grad().fill(0.5f);
  CHECK(gradients_finite(ps));
  const GradientNorms norms = gradient_norms(*model);
  REQUIRE(norms.layers.size() == 2);
  CHECK(norms.layers[0].first == "Linear#0");
  CHECK(norms.layers[1].first == "Linear#2");
  CHECK(norms.layers[0].second == doctest::Approx(0.5 * std::sqrt(5.0 * 4 + 4)));
  CHECK(norms.global * norms.global ==
        doctest::Approx(norms.layers[0].second * norms.layers[0].second + norms.layers[1].second * norms.layers[1].second));
  ps[3].grad()(1) = INFINITY;
  CHECK_FALSE(gradients_finite(ps));
  ps[3].grad()(1) = NAN;
  CHECK_FALSE(gradients_finite(ps));
  CHECK(std::isnan(gradient_norms(*model).layers[1].second));
  CHECK(std::isfinite(gradient_norms(*model).layers[0].second));
}

TEST_CASE("forensics: gradients_finite finds a NaN or inf in any thread's slice of a large gradient") {
  // Large enough to be read on two threads (each its slice of every gradient);
  // an odd length, and a small second gradient.
  const std::size_t n = 100001;
  Tensor w(Array::from_shape({n}), true), b(Array{0.5f, -0.5f}, true);
  const std::vector<Tensor> ps = {w, b};
  for (const int threads : {1, 2, 3}) {
    CAPTURE(threads);
    const xg::testing::ScopedThreads scope(threads);
    w.grad().fill(1.0f);
    b.grad().fill(1.0f);
    CHECK(gradients_finite(ps));
    for (const std::size_t at : {std::size_t(0), n / 2 - 1, n / 2, n - 1}) {
      CAPTURE(at);
      w.grad()(at) = at % 2 ? NAN : -INFINITY;
      CHECK_FALSE(gradients_finite(ps));
      w.grad()(at) = 1.0f;
    }
    b.grad()(1) = NAN;
    CHECK_FALSE(gradients_finite(ps));
  }
}

TEST_CASE("forensics: max_abs_finite skips non-finite values and counts them") {
  std::size_t nonfinite = 0;
  const Tensor t(Array{{1.0f, -7.5f, INFINITY}, {NAN, 3.0f, -INFINITY}});
  CHECK(max_abs_finite(t, &nonfinite) == 7.5f);
  CHECK(nonfinite == 3);
  const Tensor none(Array{NAN, INFINITY});
  CHECK(max_abs_finite(none, &nonfinite) == 0.0f);
  CHECK(nonfinite == 2);
}

TEST_CASE("forensics: record_forensics fills the figures and format_divergence prints them with a hint") {
  Rng rng(1);
  auto model = make_mlp({3, 2, 2}, rng);
  for (Tensor p : model->parameters()) p.grad().fill(2.0f);
  TrainingDiverged e(4, 17, 0.5f, NAN, 1.25);
  CHECK(e.epoch == 4);
  CHECK(e.step == 17);
  CHECK(std::string(e.what()).find("loss is nan") != std::string::npos);
  record_forensics(e, Tensor(Array{{1.0f, -40.0f}, {NAN, 2.0f}}), *model);
  CHECK(e.max_abs_logit == 40.0f);
  CHECK(e.nonfinite_logits == 1);
  CHECK(e.grad_norm == doctest::Approx(2.0 * std::sqrt(3.0 * 2 + 2 + 2 * 2 + 2)));
  REQUIRE(e.layer_grad_norms.size() == 2);
  CHECK(e.layer_grad_norms[0].first == "Linear#0");
  const std::string text = format_divergence(e);
  for (const char* s : {"training diverged at epoch 4, step 17", "at lr 0.5", "last good loss", "1.25 (step 16)", "max |logit|",
                        "40 (of the finite ones; 1 logits were inf or nan)", "gradient norm", "Linear#0", "Linear#2",
                        "hint: try --lr 0.05 or lower", "xgrad lr-find"})
    CHECK_MESSAGE(text.find(s) != std::string::npos, s);
  CHECK(text.back() == '\n');
}

TEST_CASE("forensics: weights_finite spots an inf or NaN weight") {
  Rng rng(0);
  auto model = make_mlp({5, 4, 3}, rng);
  std::vector<Tensor> ps = model->parameters();
  CHECK(weights_finite(ps));
  ps[2].data()[7] = -INFINITY;
  CHECK_FALSE(weights_finite(ps));
  ps[2].data()[7] = NAN;
  CHECK_FALSE(weights_finite(ps));
  ps[2].data()[7] = 3e38f;
  CHECK(weights_finite(ps));
}
