#pragma once
// `--threads 0` (the default): how many cores the GEMMs use, chosen by timing.
//
// On an idle machine two cores train an epoch faster than one (0.25 s vs
// 0.37 s here). When other processes hold the cores, OpenMP's threads wait for
// each other at every parallel GEMM and two cores become many times slower
// than one (3.5 s vs 0.53 s per epoch with two busy processes beside us). So
// at the start of every epoch the chooser times a few training steps with all
// cores and as many with one, and keeps one core for the rest of the epoch
// (and the evaluation after it) only if its typical step (the mean without
// the slowest one) is clearly faster
// (below 0.8x): a wrong pick on an idle machine costs 40%, the right one on a
// busy machine saves 3-7x. On a busy machine the probe itself is costly (a
// stalled parallel GEMM waits a time slice), so after picking one core it
// skips probing for 1, then 2, 4, up to 8 epochs while the machine stays busy.
// The GEMM never splits its sums across threads, so the results are
// bit-identical whichever it picks.
#include <array>
#include <chrono>
#include <cstddef>

#include "train/loop.hpp"

namespace xg {

class ThreadChooser : public StepObserver {
 public:
  // cores > 1. Each probe skips `settle` (>= 1) steps after a switch, then
  // times `probe` (1..kMaxProbe) steps: the mean without the slowest.
  static constexpr std::size_t kMaxProbe = 32;
  explicit ThreadChooser(int cores, std::size_t probe = 16, std::size_t settle = 2);
  // Starts a new epoch: with all cores, probing again, or with one core while
  // the back-off after a busy verdict lasts.
  void start_epoch();
  void after_backward(const Tensor&) override {}
  void after_step() override;
  bool reads_gradients() const override { return false; }  // it only times the steps
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
  Clock::time_point last_;    // the end of the previous step
  std::array<double, kMaxProbe> times_{};  // this phase's timed steps
  double all_ = 0.0, one_ = 0.0;
  std::size_t skip_ = 0;     // epochs left to run on one core without probing
  std::size_t backoff_ = 1;  // the skip after the next busy verdict
};

}  // namespace xg
