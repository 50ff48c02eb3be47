// train/sweep: one run per rate from the same start; a run whose loss explodes
// stops with where it happened while the others go on; each finished run
// equals a separate Experiment, whatever the number of runs trained at once;
// best() picks the lowest held-out loss; an epoch a signal interrupts leaves
// no trace in the runs' records. (`xgrad sweep`: tests/apps/test_sweep_command.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "train/interrupt.hpp"
#include "train/sweep.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

using namespace xg;
using namespace xg::testing;

namespace {

TrainConfig toy_config(const TempDir& dir) {
  write_toy_dataset(dir.path(), 600, 200, 10, 10, 10);
  TrainConfig o;
  o.data = dir.path();
  o.hidden = "32";
  o.epochs = 3;
  o.batch = 32;
  o.seed = 3;
  return o;
}

// Every run's per-epoch figures, trained `jobs` at a time.
std::vector<SweepRun> sweep(const TrainConfig& base, const std::vector<double>& rates, int jobs) {
  Sweep s(base, rates, 1e3, load_training_data(base));
  for (std::size_t epoch = 1; epoch <= base.epochs; ++epoch) s.run_epoch(epoch, jobs);
  return s.runs();
}

}  // namespace

TEST_CASE("sweep: a diverging rate stops where it exploded, the others equal separate runs, whatever the jobs") {
  TempDir dir;
  const TrainConfig base = toy_config(dir);
  const std::vector<double> rates{0.01, 0.1, 50};
  const std::vector<SweepRun> two = sweep(base, rates, 2);
  REQUIRE(two.size() == 3);
  const SweepRun& exploded = two[2];
  CHECK(exploded.base_lr == 50);
  REQUIRE_FALSE(exploded.finished());
  CHECK(exploded.diverged->step >= 1);
  CHECK(exploded.history.size() == exploded.diverged->epoch - 1);
  CHECK(std::isfinite(exploded.initial_loss));

  const auto data = load_training_data(base);
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(rates[i]);
    REQUIRE(two[i].finished());
    REQUIRE(two[i].history.size() == 3);
    CHECK(two[i].steps_per_epoch == 19);  // 600 items in batches of 32
    // The training loss per 20-step window (and the epoch's last steps), x in epochs.
    REQUIRE(two[i].curve_x.size() == 3);
    CHECK(two[i].curve_y.size() == 3);
    CHECK(two[i].curve_x[0] == doctest::Approx(1.0));
    CHECK(two[i].curve_x[2] == doctest::Approx(3.0));
    CHECK(two[i].curve_y[0] == doctest::Approx(two[i].history[0].train_loss));  // one window: the epoch's mean
    TrainConfig alone = base;
    alone.lr = rates[i];
    Experiment run(alone, data);
    for (std::size_t e = 1; e <= 3; ++e) {
      const EpochStats s = run.run_epoch(e);
      CHECK(two[i].history[e - 1].train_loss == s.train_loss);  // bit for bit
      CHECK(two[i].history[e - 1].test_loss == s.test_loss);
      CHECK(two[i].history[e - 1].lr == s.lr);
    }
  }
  const std::vector<SweepRun> one = sweep(base, rates, 1);
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(one[i].history.size() == two[i].history.size());
    for (std::size_t e = 0; e < one[i].history.size(); ++e) CHECK(one[i].history[e].test_loss == two[i].history[e].test_loss);
    CHECK(one[i].curve_y == two[i].curve_y);
  }
}

TEST_CASE("sweep: best() is the finished run with the lowest final held-out loss, -1 when every rate diverged") {
  TempDir dir;
  TrainConfig base = toy_config(dir);
  base.epochs = 2;
  Sweep s(base, {0.001, 0.1, 1e4}, 1e3, load_training_data(base));
  CHECK(s.best() == -1);  // nothing trained yet
  CHECK(s.run_epoch(1, 1));
  CHECK(s.run_epoch(2, 1));
  const std::vector<SweepRun>& runs = s.runs();
  int expected = -1;
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (runs[i].finished() && (expected < 0 || runs[i].history.back().test_loss < runs[std::size_t(expected)].history.back().test_loss))
      expected = int(i);
  REQUIRE(expected >= 0);
  CHECK(s.best() == expected);
  CHECK(s.experiment(std::size_t(expected)).config().lr == runs[std::size_t(expected)].base_lr);

  Sweep doomed(base, {1e4, 1e5}, 1e3, load_training_data(base));
  for (std::size_t epoch = 1; epoch <= 2; ++epoch) doomed.run_epoch(epoch, 2);
  CHECK_FALSE(doomed.runs()[0].finished());
  CHECK_FALSE(doomed.runs()[1].finished());
  CHECK(doomed.best() == -1);
  CHECK_FALSE(doomed.run_epoch(3, 2));  // no run left to train
}

TEST_CASE("sweep: an epoch a signal interrupts leaves the records as they were after the epoch before") {
  TempDir dir;
  const TrainConfig base = toy_config(dir);
  Sweep s(base, {0.01, 0.1}, 1e3, load_training_data(base));
  REQUIRE(s.run_epoch(1, 1));
  const std::vector<SweepRun> after_one = s.runs();
  request_interrupt(SIGINT);
  CHECK_THROWS_AS(s.run_epoch(2, 1), Interrupted);
  clear_interrupt();
  REQUIRE(s.runs().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(s.runs()[i].history.size() == 1);
    CHECK(s.runs()[i].curve_x == after_one[i].curve_x);
    CHECK(s.runs()[i].finished());
  }
}
