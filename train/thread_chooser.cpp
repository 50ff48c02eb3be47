#include "train/thread_chooser.hpp"

#include <algorithm>

#include <omp.h>

namespace xg {

ThreadChooser::ThreadChooser(int cores, std::size_t probe, std::size_t settle)
    : cores_(cores), probe_(std::clamp<std::size_t>(probe, 1, kMaxProbe)), settle_(std::max<std::size_t>(settle, 1)) {
  start_epoch();
}

void ThreadChooser::use(int threads) {
  threads_ = threads;
  omp_set_num_threads(threads);
}

void ThreadChooser::start_epoch() {
  steps_ = 0;
  if (skip_ > 0) {  // still backing off after a busy verdict: one core, no probe
    --skip_;
    use(1);
    phase_ = 2;
    return;
  }
  use(cores_);
  phase_ = 0;
}

void ThreadChooser::after_step() {
  if (phase_ == 2) return;
  const Clock::time_point now = Clock::now();
  ++steps_;
  if (steps_ > settle_) times_[steps_ - settle_ - 1] = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  if (steps_ < settle_ + probe_) return;
  // The mean step without the slowest one: a single interrupted step cannot
  // swing it, while the frequent stalls of busy cores still count.
  double sum = 0.0, slowest = 0.0;
  for (std::size_t i = 0; i < probe_; ++i) {
    sum += times_[i];
    slowest = std::max(slowest, times_[i]);
  }
  const double typical = probe_ > 1 ? (sum - slowest) / double(probe_ - 1) : sum;
  steps_ = 0;
  if (phase_ == 0) {
    all_ = typical;
    phase_ = 1;
    use(1);
  } else {
    one_ = typical;
    phase_ = 2;
    const bool busy = one_ < 0.8 * all_;
    use(busy ? 1 : cores_);
    skip_ = busy ? backoff_ : 0;
    backoff_ = busy ? std::min<std::size_t>(2 * backoff_, 8) : 1;
  }
}

}  // namespace xg
