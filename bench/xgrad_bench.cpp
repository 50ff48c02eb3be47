// xgrad_bench: xg::gemm against OpenBLAS, GEMM by GEMM; or xg::gemm's share of an
// epoch, in a process of its own.
//
//   xgrad_bench                       the per-GEMM table
//   xgrad_bench --epoch-gemms --threads N
//   xgrad_bench --core-round-trip
//   xgrad_bench --fma-peak
//
// The table: for each of the eight GEMMs of a training step (gemm_shapes.hpp),
// GFLOP/s of xg::gemm and of OpenBLAS's cblas_sgemm, 1 and 2 threads, median of 7
// repetitions, each shape alone with its own operands. Both libraries run in this
// one process, so this compares kernels shape by shape; it is not a floor for an
// epoch (OpenBLAS here shares the cores with xgrad's OpenMP threads). The last
// line is machine-readable:
//   RESULT gemm_ratio=<geomean of ours/OpenBLAS GFLOP/s, 2 threads>
//
// --epoch-gemms: the GEMMs of one training epoch through xg::gemm (with training's
// epilogue left out, exactly the calls xgrad_floor makes through OpenBLAS, with
// the same operand sharing), N OpenMP threads, after 100 warm-up steps; prints
//   xgrad_gemms threads=N seconds=S gflops=G
// and never calls OpenBLAS. bench/epoch.py runs it beside xgrad_floor.
//
// --core-round-trip: nanoseconds for a cache line to go from CPU 0 to CPU 1 and
// back (two threads, pinned when the OS allows, passing a counter; the median of
// 5 rounds of 100000): what every value one core writes and another reads
// costs. A VM's host may move its vCPUs between nearby cores (here 130 ns) and
// cores on different dies (470-520 ns) from one minute to the next, which changes
// the 2-thread figures far more than any change to xgrad; bench/epoch.py prints it
// with each run. Prints  core_round_trip ns=N pinned=0|1
//
// --fma-peak: GFLOP/s of one core doing nothing but float FMAs on the SIMD
// batches the library is built for (xg::gemm_simd_name(): 12 independent chains,
// enough to fill every FMA unit of current x86 cores through the FMA's latency;
// the median of 5 rounds). An epoch's GEMMs cannot run faster than this on one
// core, so it tells how far any figure is from this machine's ceiling, and it
// tracks the host's clock from run to run. Prints  fma_peak gflops=G simd=NAME
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>

#include <cblas.h>
#include <omp.h>
#include <xsimd/xsimd.hpp>

#include "core/gemm.hpp"
#include "gemm_shapes.hpp"
#include "openblas_env.hpp"
#include "training_gemms.hpp"

namespace {

using xg::bench::GemmOperands;
using xg::bench::GemmShape;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Lets the other library's worker threads stop spinning before we time this one.
void let_threads_settle() { std::this_thread::sleep_for(std::chrono::milliseconds(200)); }

// Median GFLOP/s of `run` on `op` over 7 repetitions of >= ~10 ms each.
template <class Run>
double median_gflops(Run run, GemmOperands& op) {
  const GemmShape& s = op.shape;
  const double flops = 2.0 * s.M * s.N * s.K;
  for (int i = 0; i < 3; ++i) run(op);  // warm up
  int calls = 1;
  for (;;) {  // calibrate the number of calls per repetition
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) run(op);
    if (seconds_since(t0) >= 0.01 || calls >= (1 << 20)) break;
    calls *= 2;
  }
  std::vector<double> rates;
  for (int rep = 0; rep < 7; ++rep) {
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) run(op);
    rates.push_back(flops * calls / seconds_since(t0) * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

const char* layout(const GemmShape& s) {
  if (s.ta == xg::Trans::No) return s.tb == xg::Trans::Yes ? "(No,Yes)" : "(No,No) ";
  return s.tb == xg::Trans::Yes ? "(Yes,Yes)" : "(Yes,No)";
}

void xgrad_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                 int ldb, float beta, float* C, int ldc) {
  xg::gemm(ta ? xg::Trans::Yes : xg::Trans::No, tb ? xg::Trans::Yes : xg::Trans::No, M, N, K, alpha, A, lda, B, ldb,
           beta, C, ldc);
}

// Pins the calling thread to one CPU; false when the OS does not allow it.
bool pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

int core_round_trip() {
  constexpr int kTrips = 100000, kRounds = 5;
  std::atomic<int> flag{0};
  std::atomic<bool> pinned_other{false};
  std::thread other([&] {
    pinned_other = pin_to_cpu(1);
    for (int i = 0; i < kRounds * kTrips; ++i) {
      while (flag.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      flag.store(2 * i + 2, std::memory_order_release);
    }
  });
  const bool pinned = pin_to_cpu(0);
  std::vector<double> ns;
  for (int r = 0; r < kRounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = r * kTrips; i < (r + 1) * kTrips; ++i) {
      flag.store(2 * i + 1, std::memory_order_release);
      while (flag.load(std::memory_order_acquire) != 2 * i + 2) {
      }
    }
    ns.push_back(seconds_since(t0) / kTrips * 1e9);
  }
  other.join();
  std::sort(ns.begin(), ns.end());
  std::printf("core_round_trip ns=%.0f pinned=%d\n", ns[kRounds / 2], pinned && pinned_other ? 1 : 0);
  return 0;
}

// Independent FMA chains in the peak loop (the FLOP count uses it too).
constexpr int kFmaChains = 12;

// Kept out of line and out of interprocedural analysis (noipa), so that the
// compiler sees 12 distinct chains it cannot merge or shorten (each starts from
// its own value) and knows neither the count nor the scale: with noinline alone,
// GCC 12 cloned it for fma_peak's constant arguments and, on an AVX-512 build,
// folded the whole loop into one constant (a "peak" of 2e8 GFLOP/s).
__attribute__((noipa)) xsimd::batch<float> fma_chains(long iterations, float scale) {
  using Batch = xsimd::batch<float>;
  Batch acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = Batch(1.0f + 0.001f * float(i));
  const Batch b(scale), c(1e-7f);
  for (long n = 0; n < iterations; ++n)
#pragma GCC unroll 12
    for (int i = 0; i < kFmaChains; ++i) acc[i] = xsimd::fma(acc[i], b, c);
  Batch sum(0.0f);
  for (int i = 0; i < kFmaChains; ++i) sum += acc[i];
  return sum;
}

int fma_peak() {
  constexpr int kRounds = 5;
  constexpr long kIterations = 20000000;
  const double flops = 2.0 * kFmaChains * kIterations * double(xsimd::batch<float>::size);
  std::vector<double> gflops;
  for (int r = 0; r < kRounds; ++r) {
    const auto t0 = Clock::now();
    const float sum = xsimd::hadd(fma_chains(kIterations, 0.9999999f));
    gflops.push_back(flops / seconds_since(t0) * 1e-9);
    if (!std::isfinite(sum)) {  // each chain settles near c / (1 - b): a check that also keeps the sums
      std::fprintf(stderr, "xgrad_bench: the FMA chains did not stay finite (%g)\n", double(sum));
      return 1;
    }
  }
  std::sort(gflops.begin(), gflops.end());
  // No x86 core retires more than 4 FMAs of a full batch per cycle, nor runs above
  // 8 GHz: a higher figure means the loop did not run as written.
  const double ceiling = 4 * 2 * double(xsimd::batch<float>::size) * 8.0;
  if (gflops[kRounds / 2] > ceiling) {
    std::fprintf(stderr, "xgrad_bench: --fma-peak measured %.0f GFLOP/s, above any x86 core's %.0f: the loop did not run\n",
                 gflops[kRounds / 2], ceiling);
    return 1;
  }
  std::printf("fma_peak gflops=%.1f simd=%s\n", gflops[kRounds / 2], xg::gemm_simd_name());
  return 0;
}

int epoch_gemms(int threads) {
  omp_set_num_threads(threads);
  xg::bench::TrainingBuffers buffers;
  for (int i = 0; i < 100; ++i) xg::bench::training_step_gemms(buffers, xg::bench::kBatch, xgrad_sgemm);
  const auto t0 = Clock::now();
  xg::bench::training_epoch_gemms(buffers, xgrad_sgemm);
  const double s = seconds_since(t0);
  std::printf("xgrad_gemms threads=%d seconds=%.4f gflops=%.1f\n", threads, s,
              xg::bench::training_epoch_flops() / s * 1e-9);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--epoch-gemms") == 0) {
    const int threads = argc == 4 && std::strcmp(argv[2], "--threads") == 0 ? std::atoi(argv[3]) : 0;
    if (threads < 1 || threads > 1024) {
      std::fprintf(stderr, "usage: xgrad_bench --epoch-gemms --threads N   (N >= 1: OpenMP threads)\n");
      return 2;
    }
    return epoch_gemms(threads);
  }
  if (argc == 2 && std::strcmp(argv[1], "--core-round-trip") == 0) return core_round_trip();
  if (argc == 2 && std::strcmp(argv[1], "--fma-peak") == 0) return fma_peak();
  if (argc != 1) {
    std::fprintf(stderr,
                 "usage: xgrad_bench   or   xgrad_bench --epoch-gemms --threads N   or   xgrad_bench --core-round-trip"
                 "   or   xgrad_bench --fma-peak\n");
    return 2;
  }
  xg::bench::reexec_with_openblas_coretype(argv);
  std::printf("OpenBLAS core: %s (1-thread and 2-thread columns; one process, each GEMM alone)\n",
              xg::bench::openblas_core_name());
  std::printf("%-14s %-9s %15s %7s %7s %7s %7s %7s\n", "gemm", "layout", "M x N x K", "ours1T", "blas1T",
              "ours2T", "blas2T", "ratio");

  double log_ratio_sum = 0.0;
  int shapes = 0;
  for (const GemmShape& s : xg::bench::training_step_shapes()) {
    GemmOperands op(s);
    double gf[2][2];  // [ours, blas][1 thread, 2 threads]
    for (int t = 0; t < 2; ++t) {
      omp_set_num_threads(t + 1);
      let_threads_settle();
      gf[0][t] = median_gflops(xg::bench::run_xgrad, op);
      openblas_set_num_threads(t + 1);
      let_threads_settle();
      gf[1][t] = median_gflops(xg::bench::run_openblas, op);
    }
    const double ratio = gf[0][1] / gf[1][1];
    log_ratio_sum += std::log(ratio);
    ++shapes;
    char dims[32];
    std::snprintf(dims, sizeof dims, "%dx%dx%d", s.M, s.N, s.K);
    std::printf("%-14s %-9s %15s %7.1f %7.1f %7.1f %7.1f %7.2f\n", s.name.c_str(), layout(s), dims, gf[0][0],
                gf[1][0], gf[0][1], gf[1][1], ratio);
  }
  std::printf("RESULT gemm_ratio=%.3f\n", std::exp(log_ratio_sum / shapes));
  return 0;
}
