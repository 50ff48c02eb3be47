// ThreadChooser: probes all cores, then one, and keeps the faster; starts over
// every epoch. The steps here are sleeps of known length, so the choice is
// forced either way (no timing of our own code).
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <omp.h>

#include "train/thread_chooser.hpp"

using namespace xg;

namespace {

// Runs `steps` steps, each sleeping `all_ms` while all cores are in use and `one_ms` with one.
void run_steps(ThreadChooser& chooser, int steps, int all_ms, int one_ms) {
  for (int i = 0; i < steps; ++i) {
    const int ms = omp_get_max_threads() == 1 ? one_ms : all_ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    chooser.after_step();
  }
}

}  // namespace

TEST_CASE("ThreadChooser keeps one thread when one is faster, all cores when they are, and probes again each epoch") {
  const int saved = omp_get_max_threads();
  ThreadChooser chooser(4, /*probe=*/3, /*settle=*/1);
  CHECK(chooser.threads() == 4);
  CHECK(omp_get_max_threads() == 4);
  run_steps(chooser, 4, 30, 1);  // settle + probe with all cores: 30 ms a step
  CHECK(chooser.threads() == 1);  // now probing one core
  run_steps(chooser, 4, 30, 1);
  CHECK(chooser.threads() == 1);  // one core was faster (busy cores)
  CHECK(chooser.seconds_per_step_all() > chooser.seconds_per_step_one());
  run_steps(chooser, 20, 30, 1);  // decided: no more switching in this epoch
  CHECK(omp_get_max_threads() == 1);

  // After a busy verdict the next epoch runs on one core without probing (back-off 1, then 2, ...).
  chooser.start_epoch();
  CHECK(chooser.threads() == 1);
  run_steps(chooser, 8, 30, 1);
  CHECK(chooser.threads() == 1);

  chooser.start_epoch();  // probes again
  CHECK(chooser.threads() == 4);
  run_steps(chooser, 8, 1, 30);  // now all cores are faster (an idle machine)
  CHECK(chooser.threads() == 4);
  CHECK(omp_get_max_threads() == 4);
  chooser.start_epoch();  // an idle verdict probes every epoch
  CHECK(chooser.threads() == 4);
  run_steps(chooser, 4, 1, 30);
  CHECK(chooser.threads() == 1);  // probing one core
  omp_set_num_threads(saved);
}
