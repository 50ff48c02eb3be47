// core/parallel: every chunk runs exactly once, on any number of threads.
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <initializer_list>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "core/parallel.hpp"
#include "tests/support/threads.hpp"

TEST_CASE("parallel_chunks runs each chunk exactly once, for 1 to 4 threads and many calls") {
  for (int threads : {1, 2, 3, 4})
    for (int chunks : {0, 1, 2, 3, 7, 40, 41, 64, 1000}) {
      std::vector<std::atomic<int>> runs(std::size_t(chunks > 0 ? chunks : 1));
      for (int call = 0; call < 200; ++call) xg::parallel_chunks(chunks, threads, [&](int c, bool) { ++runs[std::size_t(c)]; });
      for (int c = 0; c < chunks; ++c) CHECK(runs[std::size_t(c)].load() == 200);
    }
}

TEST_CASE("parallel_chunks returns only after every chunk has finished") {
  std::atomic<int> finished{0};
  xg::parallel_chunks(2, 2, [&](int c, bool) {
    if (c == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ++finished;
  });
  CHECK(finished.load() == 2);
}

TEST_CASE("parallel_chunks nested in a chunk, or called from two threads at once, runs every chunk") {
  std::atomic<int> inner{0};
  xg::parallel_chunks(2, 2, [&](int, bool) { xg::parallel_chunks(3, 2, [&](int, bool) { ++inner; }); });
  CHECK(inner.load() == 6);

  std::atomic<int> total{0};
  auto caller = [&] {
    for (int call = 0; call < 500; ++call) xg::parallel_chunks(4, 2, [&](int, bool) { ++total; });
  };
  std::thread other(caller);
  caller();
  other.join();
  CHECK(total.load() == 2 * 500 * 4);
}

TEST_CASE("current_pooled_chunk: the chunk a pooled body runs, also inside a nested call, and -1 elsewhere") {
  CHECK(xg::current_pooled_chunk() == -1);
  for (int call = 0; call < 100; ++call) {
    const int chunks = call % 2 ? 4 : 100;  // 100: more chunks than the pool's units, several per unit
    std::vector<std::atomic<int>> seen(static_cast<std::size_t>(chunks));
    std::atomic<int> nested_agrees{0};
    xg::parallel_chunks(chunks, 2, [&](int c, bool pooled) {
      seen[std::size_t(c)] = pooled ? xg::current_pooled_chunk() : -2;
      // a nested call runs serially on this thread, still inside chunk c
      xg::parallel_chunks(2, 2, [&](int, bool) { nested_agrees += xg::current_pooled_chunk() == (pooled ? c : -1); });
    });
    for (int c = 0; c < chunks; ++c) CHECK((seen[std::size_t(c)] == c || seen[std::size_t(c)] == -2));
    CHECK(nested_agrees.load() == 2 * chunks);
    CHECK(xg::current_pooled_chunk() == -1);
  }
  xg::parallel_chunks(3, 1, [&](int, bool pooled) { CHECK((!pooled && xg::current_pooled_chunk() == -1)); });
}

TEST_CASE("current_pool_thread: 0 on the caller, a worker's own index on a worker, -1 elsewhere") {
  CHECK(xg::current_pool_thread() == -1);
  const std::thread::id caller = std::this_thread::get_id();
  for (int call = 0; call < 100; ++call) {
    std::atomic<int> wrong{0};
    xg::parallel_chunks(16, 2, [&](int, bool pooled) {
      const int t = xg::current_pool_thread();
      const bool here = std::this_thread::get_id() == caller;
      if (!pooled ? t != -1 : here ? t != 0 : t < 1) ++wrong;
      // a nested call runs serially on this thread, which stays the same pool thread
      xg::parallel_chunks(2, 2, [&](int, bool) { wrong += xg::current_pool_thread() != t; });
    });
    CHECK(wrong.load() == 0);
    CHECK(xg::current_pool_thread() == -1);
  }
}

TEST_CASE("parallel_pieces: each piece once, and thread t's share of pieces is exactly thread_slice t") {
  for (int threads : {1, 2, 3, 4}) {
    CAPTURE(threads);
    const int expected = threads > 1 ? threads * xg::kPiecesPerThread : 1;
    CHECK(xg::pass_pieces(threads) == expected);
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(expected));
    for (int call = 0; call < 50; ++call)
      xg::parallel_pieces(threads, [&](int piece, int pieces) {
        CHECK(pieces == expected);
        ++runs[std::size_t(piece)];
      });
    for (const auto& r : runs) CHECK(r.load() == 50);
    // The pieces [t*k, (t+1)*k) of any length n cover exactly thread t's slice.
    const int k = expected / threads;
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(64), std::size_t(100003)})
      for (int t = 0; t < threads; ++t) {
        const auto slice = xg::thread_slice(n, t, threads);
        CHECK(xg::thread_slice(n, t * k, expected).first == slice.first);
        CHECK(xg::thread_slice(n, (t + 1) * k - 1, expected).second == slice.second);
        for (int p = t * k; p + 1 < (t + 1) * k; ++p)
          CHECK(xg::thread_slice(n, p, expected).second == xg::thread_slice(n, p + 1, expected).first);
      }
  }
}

TEST_CASE("BackgroundTask: runs once, on a worker or in wait(), and wait() returns after it has run") {
  xg::testing::ScopedThreads threads(2);
  xg::parallel_chunks(2, 2, [](int, bool) {});  // starts the worker
  std::atomic<int> runs{0};
  std::thread::id ran_on;
  const std::function<void()> slow = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ran_on = std::this_thread::get_id();
    ++runs;
  };
  int on_worker = 0;
  for (int i = 0; i < 50; ++i) {
    xg::BackgroundTask task(slow);
    if (i % 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a worker has time to take it
    task.wait();
    CHECK(runs.load() == i + 1);
    on_worker += ran_on != std::this_thread::get_id();
  }
  CHECK(runs.load() == 50);
  MESSAGE("tasks run on the worker: " << on_worker << " of 50");
}

TEST_CASE("BackgroundTask: one thread runs it in wait(), the destructor waits, an exception reaches wait()") {
  std::atomic<int> runs{0};
  const std::function<void()> count = [&] { ++runs; };
  {
    xg::testing::ScopedThreads threads(1);
    CHECK_FALSE(xg::BackgroundTask::can_run_ahead());
    xg::BackgroundTask task(count);
    CHECK(runs.load() == 0);  // not run before wait() with one thread
    task.wait();
    CHECK(runs.load() == 1);
    task.wait();  // a second wait does nothing
    CHECK(runs.load() == 1);
  }
  xg::testing::ScopedThreads threads(2);
  CHECK(xg::BackgroundTask::can_run_ahead());
  { xg::BackgroundTask task(count); }  // never waited: the destructor does
  CHECK(runs.load() == 2);
  const std::function<void()> fail = [] { throw std::runtime_error("task failed"); };
  xg::BackgroundTask failing(fail);
  CHECK_THROWS_WITH(failing.wait(), "task failed");
}

TEST_CASE("BackgroundTask::pooled_calls counts the calls that ran on the pool, not the serial ones") {
  xg::testing::ScopedThreads threads(2);
  const unsigned long long before = xg::BackgroundTask::pooled_calls();
  xg::parallel_chunks(4, 2, [](int, bool) {});
  xg::parallel_chunks(4, 1, [](int, bool) {});  // one thread: serial
  xg::parallel_chunks(1, 2, [](int, bool) {});  // one chunk: serial
  xg::parallel_chunks(4, 2, [](int, bool) {});
  CHECK(xg::BackgroundTask::pooled_calls() == before + 2);
}

TEST_CASE("BackgroundTask, deferred: posted after its pooled calls or by post_now(), run in wait() if never posted") {
  xg::testing::ScopedThreads threads(2);
  xg::parallel_chunks(2, 2, [](int, bool) {});  // starts the worker
  std::atomic<int> runs{0};
  std::atomic<bool> on_caller{false};
  const std::thread::id caller = std::this_thread::get_id();
  const std::function<void()> count = [&] {
    on_caller = std::this_thread::get_id() == caller;
    ++runs;
  };
  // Until a posted task has run on the worker (it wakes within microseconds; a
  // generous bound for a loaded machine), or the bound has passed.
  const auto ran_within_a_second = [&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (runs.load() == 0 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    return runs.load() == 1;
  };
  {  // after two pooled calls: not before the second has ended
    xg::BackgroundTask task(count, xg::BackgroundTask::Deferred{2});
    xg::parallel_chunks(4, 1, [](int, bool) {});  // serial: does not count
    xg::parallel_chunks(4, 2, [](int, bool) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(runs.load() == 0);
    // The second call: the worker is on its chunks, not on the task.
    std::atomic<int> task_ran_during_call{0};
    xg::parallel_chunks(4, 2, [&](int, bool) { task_ran_during_call += runs.load(); });
    CHECK(task_ran_during_call.load() == 0);
    CHECK(ran_within_a_second());
    CHECK_FALSE(on_caller.load());
    task.wait();
    CHECK(runs.load() == 1);
  }
  runs = 0;
  {  // no count: only post_now() posts it
    xg::BackgroundTask task(count, xg::BackgroundTask::Deferred{});
    for (int i = 0; i < 3; ++i) xg::parallel_chunks(4, 2, [](int, bool) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(runs.load() == 0);
    task.post_now();
    CHECK(ran_within_a_second());
    CHECK_FALSE(on_caller.load());
    task.post_now();  // posted already: nothing
    task.wait();
    CHECK(runs.load() == 1);
  }
  runs = 0;
  {  // never posted: wait() runs it on the caller, once; a later pooled call posts nothing
    xg::BackgroundTask task(count, xg::BackgroundTask::Deferred{1});
    task.wait();
    CHECK(runs.load() == 1);
    CHECK(on_caller.load());
    xg::parallel_chunks(4, 2, [](int, bool) {});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(runs.load() == 1);
  }
  runs = 0;
  {  // never posted nor waited: the destructor runs it
    xg::BackgroundTask task(count, xg::BackgroundTask::Deferred{5});
  }
  CHECK(runs.load() == 1);
  xg::parallel_chunks(4, 2, [](int, bool) {});  // a call after the task is gone: nothing to post
  CHECK(runs.load() == 1);
}

TEST_CASE("BackgroundTask, deferred, with one thread: never posted, run in wait()") {
  xg::testing::ScopedThreads threads(1);
  std::atomic<int> runs{0};
  const std::function<void()> count = [&] { ++runs; };
  xg::BackgroundTask task(count, xg::BackgroundTask::Deferred{1});
  xg::parallel_chunks(4, 1, [](int, bool) {});
  task.post_now();  // no worker: stays for wait()
  CHECK(runs.load() == 0);
  task.wait();
  CHECK(runs.load() == 1);
}

TEST_CASE("BackgroundTask: parallel_chunks inside it runs every chunk in order on its thread, and a pooled call meanwhile runs all its chunks") {
  xg::testing::ScopedThreads threads(2);
  std::vector<int> order;
  std::atomic<bool> one_thread{true};
  std::atomic<bool> ahead_inside{true};
  const std::function<void()> task = [&] {
    ahead_inside = xg::BackgroundTask::can_run_ahead();  // a task posts none of its own
    const std::thread::id self = std::this_thread::get_id();
    xg::parallel_chunks(16, 2, [&](int c, bool pooled) {
      order.push_back(c);
      if (pooled || std::this_thread::get_id() != self) one_thread = false;
    });
  };
  for (int round = 0; round < 20; ++round) {
    order.clear();
    xg::BackgroundTask background(task);
    std::vector<std::atomic<int>> runs(64);
    xg::parallel_chunks(64, 2, [&](int c, bool) { ++runs[std::size_t(c)]; });
    for (const auto& r : runs) CHECK(r.load() == 1);
    background.wait();
    REQUIRE(order.size() == 16);
    for (int c = 0; c < 16; ++c) CHECK(order[std::size_t(c)] == c);
  }
  CHECK(one_thread.load());
  CHECK_FALSE(ahead_inside.load());
}
