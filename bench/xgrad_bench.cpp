// xgrad_bench: xgrad against the OpenBLAS floor, in one process and one run.
//
// 1. For each of the nine GEMMs of a training step (see floor.hpp): GFLOP/s of
//    xg::gemm and of OpenBLAS's cblas_sgemm, 1 and 2 threads, median of 7
//    repetitions.
// 2. The floor: just the GEMMs of one epoch of the reference workload through
//    OpenBLAS (median of 3), and the same GEMMs through xg::gemm.
// 3. One whole xgrad training epoch of the reference workload (Fashion-MNIST,
//    MLP 784-256-128-10, ReLU, softmax-cross-entropy, plain SGD lr 0.1, batch
//    64, shuffled), median of 3 epochs after one warm-up epoch, with 1 and 2
//    threads.
// The last line is machine-readable:
//   RESULT epoch_s=<xgrad epoch, 2 threads> floor_s=<OpenBLAS GEMMs of an epoch>
//          ratio=<epoch_s/floor_s> gemm_ratio=<geomean of ours/OpenBLAS GFLOP/s, 2 threads>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

#include <cblas.h>
#include <omp.h>

#include "train/experiment.hpp"
#include "floor.hpp"

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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int, char** argv) {
  xg::bench::reexec_with_openblas_coretype(argv);
  const int threads = 2;
  std::printf("OpenBLAS core: %s; threads: %d (1-thread columns for reference)\n",
              xg::bench::openblas_core_name(), threads);
  std::printf("%-14s %-9s %15s %7s %7s %7s %7s %7s\n", "gemm", "layout", "M x N x K", "ours1T", "blas1T",
              "ours2T", "blas2T", "ratio");

  double log_ratio_sum = 0.0;
  int shapes = 0;
  for (const GemmShape& s : xg::bench::training_step_gemms()) {
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
    std::printf("%-14s %-9s %15s %7.1f %7.1f %7.1f %7.1f %7.2f\n", s.name, layout(s), dims, gf[0][0],
                gf[1][0], gf[0][1], gf[1][1], ratio);
  }
  const double gemm_ratio = std::exp(log_ratio_sum / shapes);

  // Epoch of GEMMs (938 steps x 9): median of 3 runs each, alternating.
  std::vector<double> ours, floor;
  for (int run = 0; run < 3; ++run) {
    let_threads_settle();
    floor.push_back(xg::bench::openblas_floor_epoch_seconds(threads));
    let_threads_settle();
    ours.push_back(xg::bench::xgrad_gemm_epoch_seconds(threads));
  }
  const double ours_s = median(ours), floor_s = median(floor);
  std::printf("epoch GEMMs (%d steps x 9), %d threads: ours %.3f s, OpenBLAS floor %.3f s, ours/floor %.2f\n",
              xg::bench::kEpochSteps, threads, ours_s, floor_s, ours_s / floor_s);

  // A whole training epoch of the reference workload.
  xg::TrainConfig o;
  o.hidden = "256,128";
  o.batch = 64;
  o.lr = 0.1;
  o.momentum = 0.0;
  o.schedule = "none";
  o.epochs = 4;
  const auto data = xg::load_training_data(o);
  double epoch_s[2];
  for (int t = 1; t <= 2; ++t) {
    omp_set_num_threads(t);
    let_threads_settle();
    xg::Experiment run(o, data);
    std::vector<double> seconds;
    double accuracy = 0.0;
    for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
      const xg::EpochStats s = run.run_epoch(epoch);
      if (epoch > 1) seconds.push_back(s.seconds);  // epoch 1 warms caches and pools
      accuracy = s.test_acc;
    }
    epoch_s[t - 1] = median(seconds);
    std::printf("xgrad training epoch, %d thread%s: %.3f s (median of %zu; test accuracy after %zu epochs %.4f)\n", t,
                t > 1 ? "s" : "", epoch_s[t - 1], seconds.size(), o.epochs, accuracy);
  }
  std::printf("RESULT epoch_s=%.3f floor_s=%.3f ratio=%.2f gemm_ratio=%.3f\n", epoch_s[1], floor_s,
              epoch_s[1] / floor_s, gemm_ratio);
  return 0;
}
