#include "apps/thread_chooser.hpp"

#include <omp.h>

namespace xg {

ThreadChooser::ThreadChooser(int cores, std::size_t probe, std::size_t settle)
    : cores_(cores), probe_(probe), settle_(settle) {
  start_epoch();
}

void ThreadChooser::use(int threads) {
  threads_ = threads;
  omp_set_num_threads(threads);
}

void ThreadChooser::start_epoch() {
  use(cores_);
  phase_ = 0;
  steps_ = 0;
}

void ThreadChooser::after_step() {
  if (phase_ == 2) return;
  ++steps_;
  if (steps_ == settle_) start_ = Clock::now();  // the timed steps start after this one
  if (steps_ < settle_ + probe_) return;
  const double per_step = std::chrono::duration<double>(Clock::now() - start_).count() / double(probe_);
  steps_ = 0;
  if (phase_ == 0) {
    all_ = per_step;
    phase_ = 1;
    use(1);
  } else {
    one_ = per_step;
    phase_ = 2;
    use(one_ < all_ ? 1 : cores_);
  }
}

}  // namespace xg
