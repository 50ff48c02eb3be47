#pragma once
// parallel_chunks: the GEMM's threads, without a barrier that waits for the OS.
//
// An OpenMP parallel region ends in a barrier: the calling thread waits until
// every thread of the team has arrived, including one the OS has not scheduled
// yet. On an idle machine that costs microseconds; on cores that other
// processes keep busy it costs a time slice per region, and a training step
// has five parallel GEMMs: measured here, 34 s per epoch with 2 threads
// against 1 s with one (AMD EPYC Zen 5, 2 cores, load average 4).
//
// Here the caller and a small pool of workers claim chunks from one shared
// word. Each thread first claims its own share of the chunks (the same share
// call after call, so the data it touches stays in its core's caches), then
// helps with what is left. The caller runs chunks too, and returns as soon as
// every chunk has run: a worker that has not woken up by then claims none, so
// nobody waits for it. Which thread runs a chunk never changes what the chunk
// computes, so results stay bit-identical at any thread count. Idle workers spin for a
// bounded time (about 50 µs) and then sleep, so a busy machine does not lose a
// core to spinning.
#include <cstddef>
#include <functional>
#include <utility>

namespace xg {

// Runs body(c, pooled) once for each c in [0, chunks), on up to `threads`
// threads (the caller and threads - 1 pool workers). Runs everything on the
// caller, with pooled false, when threads <= 1, chunks <= 1, or when another
// call is running (a nested or a concurrent call never waits for the pool).
// pooled is true when this call holds the pool: then no other pooled call runs
// at the same time, so scratch memory kept per chunk index (not per thread)
// is this chunk's alone, and is warmed by the first call whichever thread
// happens to claim the chunk. Returns when all chunks have run.
void parallel_chunks(int chunks, int threads, const std::function<void(int chunk, bool pooled)>& body);

// Runs `task` on an idle pool worker while the caller goes on (a training step's
// data copy for the next step, while this step's serial part leaves the worker
// idle). wait() returns once it has run, and rethrows what it threw; when no
// worker has taken it by then (one thread, or the worker is busy, asleep or not
// scheduled) the caller runs it itself, so it never waits for the OS. Inside the
// task the pool is not used: parallel_chunks runs its chunks in order on that
// thread, so the task's results are the same whichever thread runs it. The
// destructor waits too (without rethrowing). One task at a time.
// `task` is not copied (posting allocates nothing): it must outlive the BackgroundTask.
//
// A deferred task is posted later, on the thread that made it: by post_now(), or
// as soon as that thread's next `after_calls` pooled calls (parallel_chunks calls
// that ran on the pool) have ended, whichever comes first; so a worker is not
// taken off the chunks of calls the caller is about to make. wait() on a task not
// posted yet runs it on the caller. Counting pooled calls, not time, keeps where
// the task starts the same from step to step; no result depends on it.
class BackgroundTask {
 public:
  struct Deferred {
    int after_calls = 0;  // 0: only post_now() (or wait()) posts it
  };
  // Whether a task posted now can run on a worker at all (more than one thread,
  // and not posted from inside a task): else wait() would run it on the caller.
  static bool can_run_ahead();
  // How many pooled calls this thread has made so far (to count a pass's calls).
  static unsigned long long pooled_calls();
  explicit BackgroundTask(const std::function<void()>& task);
  BackgroundTask(const std::function<void()>& task, Deferred deferred);
  BackgroundTask(const BackgroundTask&) = delete;
  BackgroundTask& operator=(const BackgroundTask&) = delete;
  ~BackgroundTask();
  void post_now();  // posts a deferred task now; nothing for one already posted
  void wait();

 private:
  void post();
  bool undefer();
  const std::function<void()>& task_;
  bool deferred_ = false, posted_ = false, waited_ = false;
};

// The index of the pooled chunk this thread is running now, or -1 (not inside a
// pooled call's body). Code called from a chunk (a GEMM inside a loop over
// images) can keep scratch memory per chunk index with it, as a pooled body does.
int current_pooled_chunk();

// Which of the pool's threads runs the pooled chunk this thread is running now
// (0 the caller, i worker i; a worker beyond the call's threads may help too), or
// -1 (not inside a pooled call's body): for scratch memory kept per thread.
int current_pool_thread();

// The threads for a pass over n items (images, planes, elements) that touches
// `work` elements: 1 when that is too little to pay for waking another thread,
// else up to omp_get_max_threads() (`--threads`), at most n.
int pass_threads(long long n, std::size_t work);

// Runs body(i, t) for i = 0..n-1 in `threads` contiguous ranges, range t on one of
// the pool's threads; t < threads, so the body may use scratch memory of range t's
// own. Each i runs once, in order within its range, so results never depend on
// which thread runs a range.
template <class Body>
void parallel_ranges(long long n, int threads, const Body& body) {
  auto range = [&](int t) {
    for (long long i = n * t / threads; i < n * (t + 1) / threads; ++i) body(i, t);
  };
  parallel_chunks(threads, threads, [&range](int t, bool) { range(t); });  // one reference: no allocation
}

// Element range t of `threads` equal contiguous ranges of [0, n): what an
// elementwise pass over a tensor gives thread t. A GEMM that splits the rows of
// its output into one chunk per thread gives thread t about the same range of a
// weight gradient, and the forward the same rows of the weight, so each core
// keeps touching the part of a weight that is already in its caches.
inline std::pair<std::size_t, std::size_t> thread_slice(std::size_t n, int t, int threads) {
  return {n * std::size_t(t) / std::size_t(threads), n * std::size_t(t + 1) / std::size_t(threads)};
}

// A pass that keeps thread t on slice t of its data, cut finer: with T > 1 threads
// into T * kPiecesPerThread pieces, thread t's own share being pieces
// [t*k, (t+1)*k), which together are exactly thread_slice(n, t, T) of any length n
// when piece p takes thread_slice(n, p, pieces). A thread that finishes its share
// takes the last pieces of a slower thread's (parallel_chunks) instead of waiting
// for it. Runs body(piece, pieces) once for each piece; pieces is 1 with one thread.
constexpr int kPiecesPerThread = 4;
inline int pass_pieces(int threads) { return threads > 1 ? threads * kPiecesPerThread : 1; }
template <class Body>
void parallel_pieces(int threads, const Body& body) {
  const int pieces = pass_pieces(threads);
  auto piece = [&body, pieces](int p) { body(p, pieces); };
  parallel_chunks(pieces, threads, [&piece](int p, bool) { piece(p); });  // one reference: no allocation
}

// parallel_ranges for a pass that needs no scratch, on pass_threads(n, work): body(i).
template <class Body>
void parallel_for(long long n, std::size_t work, const Body& body) {
  parallel_ranges(n, pass_threads(n, work), [&body](long long i, int) { body(i); });
}

}  // namespace xg
