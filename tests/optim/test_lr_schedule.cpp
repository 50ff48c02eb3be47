// optim/lr_schedule: the rates of cosine annealing, a linear warm-up before a
// step schedule, and ReduceLROnPlateau's patience. (Every schedule for 30
// steps against PyTorch: tests/oracles/layers_losses_optim.)
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "optim/lr_schedule.hpp"

using namespace xg;

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
