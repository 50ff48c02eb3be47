#pragma once
// OpenMP's thread count for one scope of a test: set at construction, the
// previous count restored at destruction, also when a REQUIRE throws out of the
// scope (so a failed test cannot leave the next ones on another thread count).
#include <omp.h>

namespace xg::testing {

class ScopedThreads {
 public:
  explicit ScopedThreads(int threads) : previous_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~ScopedThreads() { omp_set_num_threads(previous_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int previous_;
};

}  // namespace xg::testing
