#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace xg {
namespace {

thread_local int tl_pooled_chunk = -1;  // current_pooled_chunk()

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// The job state in one atomic word: generation (32 bits) | chunks (16) | next (16).
// A claim is a compare-exchange that bumps `next`. A job ends only once all its
// chunks are claimed and done, so a worker holding an old state fails its claim
// and never runs a chunk of a finished job (nor with the next job's body).
using State = std::uint64_t;
constexpr State make_state(std::uint32_t generation, int chunks, int next) {
  return State(generation) << 32 | State(chunks) << 16 | State(next);
}
constexpr std::uint32_t generation_of(State s) { return std::uint32_t(s >> 32); }
constexpr int chunks_of(State s) { return int((s >> 16) & 0xFFFF); }
constexpr int next_of(State s) { return int(s & 0xFFFF); }
constexpr int kMaxChunks = 0xFFFF;

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker checks stop_ under it before sleeping
      stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  // False when another call holds the pool (nested or concurrent): run serially.
  bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }

  void run(int chunks, int threads, const std::function<void(int, bool)>& body) {
    while (int(workers_.size()) < threads - 1) workers_.emplace_back([this] { work(); });
    const std::uint32_t generation = generation_of(state_.load()) + 1;
    body_.store(&body);
    done_.store(0);
    state_.store(make_state(generation, chunks, 0));
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker checks the state under it before sleeping
      wake_.notify_all();
    }
    run_chunks(generation);
    // Wait only for chunks a worker has claimed and is running.
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < 4096)
        cpu_relax();
      else
        std::this_thread::yield();
    }
  }

 private:
  // Claims and runs chunks of `generation` until none is left or a newer job began.
  void run_chunks(std::uint32_t generation) {
    State s = state_.load();
    for (;;) {
      if (generation_of(s) != generation || next_of(s) >= chunks_of(s)) return;
      const std::function<void(int, bool)>* body = body_.load();
      if (!state_.compare_exchange_weak(s, s + 1)) continue;  // s reloaded
      const int outer = tl_pooled_chunk;
      tl_pooled_chunk = next_of(s);
      (*body)(next_of(s), true);
      tl_pooled_chunk = outer;
      done_.fetch_add(1, std::memory_order_release);
      s = state_.load();
    }
  }

  void work() {
    std::uint32_t seen = generation_of(state_.load());
    for (;;) {
      // Spin about 50 µs for the next job, then sleep until one is published.
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      int polls = 0;
      while (generation_of(state_.load()) == seen && !stop_.load(std::memory_order_relaxed)) {
        cpu_relax();
        if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return stop_ || generation_of(state_.load()) != seen; });
          sleepers_.fetch_sub(1);
          if (stop_) return;
        }
      }
      if (stop_.load()) return;
      seen = generation_of(state_.load());
      run_chunks(seen);
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<State> state_{0};
  std::atomic<const std::function<void(int, bool)>*> body_{nullptr};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};  // set at exit (under mutex_)
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int current_pooled_chunk() { return tl_pooled_chunk; }

int pass_threads(long long n, std::size_t work) {
  if (work < (std::size_t(1) << 15) || n <= 1) return 1;
  return int(std::min<long long>(omp_get_max_threads(), n));
}

void parallel_chunks(int chunks, int threads, const std::function<void(int, bool)>& body) {
  if (threads > 1 && chunks > 1 && chunks <= kMaxChunks) {
    Pool& p = pool();
    if (p.try_acquire()) {
      p.run(chunks, threads, body);
      p.release();
      return;
    }
  }
  for (int c = 0; c < chunks; ++c) body(c, false);
}

}  // namespace xg
