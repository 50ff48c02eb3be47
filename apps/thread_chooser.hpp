#pragma once
// `--threads 0` (the default): how many cores the GEMMs use, chosen by timing.
//
// On an idle machine two cores train an epoch faster than one (0.25 s vs
// 0.37 s here). When other processes hold the cores, OpenMP's threads wait for
// each other at every parallel GEMM and two cores become many times slower
// than one (3.5 s vs 0.53 s per epoch with two busy processes beside us). So
// at the start of every epoch the chooser times a few training steps with all
// cores and as many with one, and keeps the faster for the rest of the epoch
// (and the evaluation after it). The GEMM never splits its sums across
// threads, so the results are bit-identical whichever it picks.
#include <chrono>
#include <cstddef>

#include "apps/training.hpp"

namespace xg {

class ThreadChooser : public StepObserver {
 public:
  // cores > 1. Each probe skips `settle` steps after a switch, then times `probe` steps.
  explicit ThreadChooser(int cores, std::size_t probe = 12, std::size_t settle = 2);
  // Starts a new epoch with all cores and probes again.
  void start_epoch();
  void after_backward(const Tensor&) override {}
  void after_step() override;
  // The threads in use now, and what each probe measured (seconds per step; 0 before it ran).
  int threads() const { return threads_; }
  double seconds_per_step_all() const { return all_; }
  double seconds_per_step_one() const { return one_; }

 private:
  using Clock = std::chrono::steady_clock;
  void use(int threads);
  int cores_;
  std::size_t probe_, settle_;
  int threads_ = 0;
  int phase_ = 0;             // 0: timing all cores, 1: timing one core, 2: decided
  std::size_t steps_ = 0;     // steps seen in this phase
  Clock::time_point start_;   // when the timed steps of this phase began
  double all_ = 0.0, one_ = 0.0;
};

}  // namespace xg
