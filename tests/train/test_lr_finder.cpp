// train/lr_finder: the LR range test's suggestions inside the range, the early
// stop, the weights restored (also when a signal stops it; BatchNorm2d's
// running statistics too), and the two
// suggestion rules on known curves.
// (`xgrad lr-find`: tests/apps/test_lr_find_command.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "datasets/image_dataset.hpp"
#include "layers/architecture.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"
#include "train/interrupt.hpp"
#include "train/lr_finder.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

TEST_CASE("lr-find: suggestions inside [start, end], early stop when the loss explodes, weights unchanged") {
  // A small subset of Fashion-MNIST: a toy set this separable never explodes.
  REQUIRE(std::filesystem::exists(kFashionDir));
  Dataset data = load_image_dataset("fashion-mnist");
  truncate(data.train, 2000);
  Rng rng(5);
  auto model = make_mlp({784, 64, 10}, rng);
  std::vector<Array> before;
  for (const Tensor& p : model->parameters()) before.push_back(p.value());
  SGD sgd(model->parameters(), 0.1f, 0.9f);
  DataLoader loader(data.train, 64, true, 5, compute_normalization(data.train));
  LrFindSettings settings;
  settings.start = 1e-6;
  settings.end = 100;  // far beyond where this model can train
  settings.steps = 100;
  const LrFindResult r = lr_range_test(*model, sgd, loader, settings);

  CHECK(r.stopped_early);
  CHECK(r.steps_taken < settings.steps);
  CHECK(r.lrs.back() < settings.end);
  REQUIRE(r.lrs.size() >= 3);
  for (std::size_t index : {r.steep, r.valley, r.minimum}) {
    REQUIRE(index < r.lrs.size());
    CHECK(r.lrs[index] >= settings.start);
    CHECK(r.lrs[index] <= settings.end);
  }
  // The rates grow by the same factor every step, starting at `start`.
  CHECK(r.lrs[0] == doctest::Approx(settings.start));
  const double factor = std::pow(settings.end / settings.start, 1.0 / 99.0);
  CHECK(r.lrs[10] / r.lrs[9] == doctest::Approx(factor));
  // The smoothed loss fell somewhere below the first loss before exploding.
  CHECK(r.smoothed[r.minimum] < r.losses[0]);

  const std::vector<Tensor> after = model->parameters();
  REQUIRE(after.size() == before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    REQUIRE(after[i].size() == before[i].size());
    CHECK(std::equal(before[i].begin(), before[i].end(), after[i].value().begin()));
  }
}

TEST_CASE("lr-find: a signal's request stops the range test before a step, with the weights restored") {
  testing::TempDir dir;
  write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(1);
  auto model = make_mlp({16, 8, 3}, rng);
  std::vector<Array> before;
  for (const Tensor& p : model->parameters()) before.push_back(p.value());
  SGD sgd(model->parameters(), 0.1f, 0.9f);
  DataLoader loader(data.train, 32, true, 1, compute_normalization(data.train));
  LrFindSettings settings;
  settings.steps = 20;
  request_interrupt(SIGTERM);
  CHECK_THROWS_AS(lr_range_test(*model, sgd, loader, settings), Interrupted);
  clear_interrupt();
  const std::vector<Tensor> after = model->parameters();
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(std::equal(before[i].begin(), before[i].end(), after[i].value().begin()));
}

TEST_CASE("lr-find: a network with bn gets its running statistics and batch count back too") {
  testing::TempDir dir;
  write_toy_dataset(dir.path(), 256, 64, 3, 4, 4);
  Dataset data = load_image_dataset(dir.path());
  Rng rng(2);
  auto model = make_network(parse_architecture("conv3k3p1,bn,relu,flatten,fc", "--arch"), {1, 4, 4}, 3, rng, "--arch");
  std::vector<Array> before;
  for (const auto& [name, t] : model->named_state()) before.push_back(t.value());
  SGD sgd(model->parameters(), 0.1f, 0.9f);
  DataLoader loader(data.train, 32, true, 1, compute_normalization(data.train));
  LrFindSettings settings;
  settings.steps = 20;
  lr_range_test(*model, sgd, loader, settings);
  const auto after = model->named_state();
  REQUIRE(after.size() == before.size());
  CHECK(after[4].first == "1.running_mean");
  for (std::size_t i = 0; i < before.size(); ++i) {
    INFO(after[i].first);
    CHECK(std::equal(before[i].begin(), before[i].end(), after[i].second.value().begin()));
  }
}

TEST_CASE("lr-find: steepest descent and valley on known curves") {
  // Flat, then falling fastest between points 4 and 5, then rising.
  const std::vector<double> lrs{1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100};
  const std::vector<double> losses{2.3, 2.3, 2.2, 2.0, 1.9, 0.9, 0.8, 5.0};
  CHECK(steepest_descent_index(lrs, losses) == 4);
  // The longest decreasing run is points 1..6 of a strictly falling middle.
  const std::vector<double> valley_curve{3.0, 2.9, 2.7, 2.4, 2.0, 1.5, 1.0, 0.9, 4.0, 9.0};
  const std::size_t v = valley_index(valley_curve);
  CHECK(v >= 2);
  CHECK(v <= 5);
  CHECK(valley_index({}) == 0);
}

TEST_CASE("lr-find: bad settings are rejected naming the flag") {
  LrFindSettings s;
  s.end = s.start / 2;
  CHECK_THROWS_WITH_AS(validate_lr_find_settings(s), doctest::Contains("--end"), InputError);
  s = LrFindSettings{};
  s.steps = 2;
  CHECK_THROWS_WITH_AS(validate_lr_find_settings(s), doctest::Contains("--steps"), InputError);
  s = LrFindSettings{};
  s.start = 0;
  CHECK_THROWS_WITH_AS(validate_lr_find_settings(s), doctest::Contains("--start"), InputError);
}
