#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <omp.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace xg {
namespace {

thread_local int tl_pooled_chunk = -1;     // current_pooled_chunk()
thread_local int tl_pool_thread = -1;      // current_pool_thread()
thread_local bool tl_in_background = false;  // running a BackgroundTask: parallel_chunks is serial
thread_local unsigned long long tl_pooled_calls = 0;  // BackgroundTask::pooled_calls()
// The deferred BackgroundTask this thread made (at most one at a time), posted
// once tl_deferred_calls more pooled calls have ended.
thread_local BackgroundTask* tl_deferred = nullptr;
thread_local int tl_deferred_calls = 0;

// Marks this thread as running a BackgroundTask for the scope's length.
struct BackgroundScope {
  BackgroundScope() { tl_in_background = true; }
  ~BackgroundScope() { tl_in_background = false; }
  BackgroundScope(const BackgroundScope&) = delete;
  BackgroundScope& operator=(const BackgroundScope&) = delete;
};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Waits until done() holds: a bounded spin (4096 pauses, a few microseconds),
// then yielding the core at each poll, so a wait on a thread the OS has not
// scheduled never keeps that thread off the core it needs.
template <class Done>
void spin_until(const Done& done) {
  for (int spins = 0; !done(); ++spins) {
    if (spins < 4096)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

// The job state in one atomic word: generation (24 bits) | claimed units (40 bits,
// bit u set once unit u is claimed). A claim is a compare-exchange that sets a
// bit. A job ends only once all its units are claimed and done, so a worker
// holding an old state fails its claim and never runs a unit of a finished job
// (nor with the next job's body). A call with more chunks than units gives each
// unit a run of consecutive chunks.
using State = std::uint64_t;
constexpr int kUnits = 40;
constexpr State kUnitMask = (State(1) << kUnits) - 1;
constexpr State make_state(std::uint32_t generation, State claimed) {
  return State(generation & 0xFFFFFF) << kUnits | claimed;
}
constexpr std::uint32_t generation_of(State s) { return std::uint32_t(s >> kUnits); }
constexpr State claimed_of(State s) { return s & kUnitMask; }

// The units in [lo, hi) as a bit mask.
constexpr State unit_range(int lo, int hi) {
  return hi <= lo ? 0 : ((hi - lo >= 64 ? ~State(0) : (State(1) << (hi - lo)) - 1) << lo);
}

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

  void start_workers(int threads) {
    while (int(workers_.size()) < threads - 1) {
      const int index = int(workers_.size()) + 1;
      workers_.emplace_back([this, index] { work(index); });
    }
  }

  // The background slot (BackgroundTask): kNone -> kPosted by post(); a worker or
  // the waiting caller takes it (kPosted -> kTaken, one compare-exchange, so it
  // runs once), runs it and sets kDone; the caller's wait() then empties it.
  enum : int { kNone, kPosted, kTaken, kDone };
  // Posts task for a worker; false (nothing posted) when the pool has no worker.
  bool post(const std::function<void()>* task) {
    if (workers_.empty() || background_.load() != kNone) return false;
    background_error_ = nullptr;
    background_task_.store(task);
    background_.store(kPosted, std::memory_order_release);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker checks the slot under it before sleeping
      wake_.notify_all();
    }
    return true;
  }
  // Runs the posted task here unless a worker has taken it, then waits until it has run.
  std::exception_ptr wait_posted() {
    int posted = kPosted;
    if (background_.compare_exchange_strong(posted, kTaken, std::memory_order_acq_rel)) run_background();
    spin_until([this] { return background_.load(std::memory_order_acquire) == kDone; });
    background_.store(kNone, std::memory_order_relaxed);
    return background_error_;
  }

  // False when another call holds the pool (nested or concurrent): run serially.
  bool try_acquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void release() { busy_.store(false, std::memory_order_release); }

  void run(int chunks, int threads, const std::function<void(int, bool)>& body) {
    start_workers(threads);
    const std::uint32_t generation = (generation_of(state_.load()) + 1) & 0xFFFFFF;
    const int units = std::min(chunks, kUnits);
    body_.store(&body);
    chunks_.store(chunks);
    threads_.store(threads);
    done_.store(0);
    // Units that do not exist are claimed from the start.
    state_.store(make_state(generation, kUnitMask & ~unit_range(0, units)));
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker checks the state under it before sleeping
      wake_.notify_all();
    }
    run_units(generation, 0);
    // Wait only for units a worker has claimed and is running.
    spin_until([this, units] { return done_.load(std::memory_order_acquire) >= units; });
  }

 private:
  // Claims and runs units of `generation` until none is left or a newer job began.
  // Thread t (the caller is 0, worker i is i) first takes its own share of the
  // units, [units*t/threads, units*(t+1)/threads), front to back; then it helps
  // with whatever is still unclaimed, from the back. So on an idle machine each
  // thread gets the same part of every call with the same shape, step after
  // step, and the data that part touches stays in that core's caches (moving
  // cache lines between cores is what made two threads no faster than one);
  // a thread the OS runs late has its share taken over, never waited for.
  void run_units(std::uint32_t generation, int t) {
    State s = state_.load();
    for (;;) {
      if (generation_of(s) != generation) return;
      const State free = ~claimed_of(s) & kUnitMask;
      if (free == 0) return;
      // Loaded after s: if the claim below succeeds, s was current, so these
      // belong to this job (the next one is published only after this one ends).
      const std::function<void(int, bool)>* body = body_.load();
      const int chunks = chunks_.load(), units = std::min(chunks, kUnits), threads = threads_.load();
      const State own = free & unit_range(units * t / threads, t < threads ? units * (t + 1) / threads : 0);
      const int u = own ? __builtin_ctzll(own) : 63 - __builtin_clzll(free);
      if (!state_.compare_exchange_weak(s, s | State(1) << u)) continue;  // s reloaded
      const int outer = tl_pooled_chunk, outer_thread = tl_pool_thread;
      tl_pool_thread = t;
      for (int c = int(static_cast<long long>(chunks) * u / units); c < int(static_cast<long long>(chunks) * (u + 1) / units); ++c) {
        tl_pooled_chunk = c;
        (*body)(c, true);
      }
      tl_pooled_chunk = outer, tl_pool_thread = outer_thread;
      done_.fetch_add(1, std::memory_order_release);
      s = state_.load();
    }
  }

  // Runs the task taken from the slot (the caller holds kTaken) and marks it done.
  void run_background() {
    try {
      const BackgroundScope scope;
      (*background_task_.load())();
    } catch (...) {
      background_error_ = std::current_exception();
    }
    background_.store(kDone, std::memory_order_release);
  }

  // Worker 1 also takes a posted background task; the others only run chunks.
  bool take_background(int index) {
    int posted = kPosted;
    return index == 1 && background_.load(std::memory_order_relaxed) == kPosted &&
           background_.compare_exchange_strong(posted, kTaken, std::memory_order_acq_rel);
  }

  void work(int index) {
    std::uint32_t seen = generation_of(state_.load());
    for (;;) {
      // Spin about 50 µs for the next job, then sleep until one is published.
      const auto spin_deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      int polls = 0;
      while (generation_of(state_.load()) == seen && !stop_.load(std::memory_order_relaxed)) {
        if (take_background(index)) {
          run_background();
          continue;
        }
        cpu_relax();
        if (++polls % 64 == 0 && std::chrono::steady_clock::now() > spin_deadline) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] {
            return stop_ || generation_of(state_.load()) != seen || (index == 1 && background_.load() == kPosted);
          });
          sleepers_.fetch_sub(1);
          if (stop_) return;
        }
      }
      if (stop_.load()) return;
      seen = generation_of(state_.load());
      run_units(seen, index);
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<State> state_{0};
  std::atomic<const std::function<void(int, bool)>*> body_{nullptr};
  std::atomic<int> chunks_{0}, threads_{1};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stop_{false};  // set at exit (under mutex_)
  std::atomic<int> background_{kNone};
  std::atomic<const std::function<void()>*> background_task_{nullptr};
  std::exception_ptr background_error_;  // written by the thread that ran the task, before kDone
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int current_pooled_chunk() { return tl_pooled_chunk; }
int current_pool_thread() { return tl_pool_thread; }

int pass_threads(long long n, std::size_t work) {
  if (work < (std::size_t(1) << 15) || n <= 1) return 1;
  return int(std::min<long long>(omp_get_max_threads(), n));
}

void parallel_chunks(int chunks, int threads, const std::function<void(int, bool)>& body) {
  if (threads > 1 && chunks > 1 && !tl_in_background) {
    Pool& p = pool();
    if (p.try_acquire()) {
      p.run(chunks, threads, body);
      p.release();
      ++tl_pooled_calls;
      if (tl_deferred && --tl_deferred_calls == 0) tl_deferred->post_now();
      return;
    }
  }
  for (int c = 0; c < chunks; ++c) body(c, false);
}

bool BackgroundTask::can_run_ahead() { return omp_get_max_threads() > 1 && !tl_in_background; }

unsigned long long BackgroundTask::pooled_calls() { return tl_pooled_calls; }

BackgroundTask::BackgroundTask(const std::function<void()>& task) : task_(task) { post(); }

BackgroundTask::BackgroundTask(const std::function<void()>& task, Deferred deferred) : task_(task) {
  if (tl_deferred) tl_deferred->post_now();  // one deferred task per thread: the older one goes now
  deferred_ = true;
  tl_deferred = this;
  tl_deferred_calls = deferred.after_calls;
}

void BackgroundTask::post() {
  // Only when a worker can run it, and only when no pooled call or other task
  // holds the pool (then the caller runs the task in wait(), as with one thread).
  if (can_run_ahead() && pool().try_acquire()) {
    pool().start_workers(2);
    posted_ = pool().post(&task_);
    pool().release();
  }
}

// Ends a deferral: no pooled call posts the task after this. True if it was deferred.
bool BackgroundTask::undefer() {
  if (!deferred_) return false;
  deferred_ = false;
  if (tl_deferred == this) tl_deferred = nullptr;
  return true;
}

void BackgroundTask::post_now() {
  if (undefer()) post();  // (wait() ends a deferral: a waited task is never deferred)
}

BackgroundTask::~BackgroundTask() {
  if (waited_) return;  // wait() has ended any deferral
  try {
    wait();
  } catch (...) {  // the caller is already leaving through another exception, or never asked
  }
}

void BackgroundTask::wait() {
  if (waited_) return;
  waited_ = true;
  undefer();  // not posted yet: it runs here, below
  if (!posted_) {
    const BackgroundScope scope;
    task_();
    return;
  }
  if (std::exception_ptr error = pool().wait_posted()) std::rethrow_exception(error);
}

}  // namespace xg
