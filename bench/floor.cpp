// xgrad_floor: the OpenBLAS floor of one training epoch, in a process of its own.
//
//   xgrad_floor --threads N
//
// Runs the GEMMs of one epoch of the reference workload (training_gemms.hpp:
// 938 steps x 8 GEMMs, operands shared as training shares them) through
// OpenBLAS's cblas_sgemm with N threads, after a warm-up of 100 steps, and
// prints one line:
//   floor threads=N seconds=S gflops=G epoch_gflop=F core=<openblas_get_corename()>
// (F: the floating-point operations of those GEMMs, in billions)
// A training epoch cannot beat this with the same GEMMs, so epoch/floor is the
// figure bench/epoch.py reports. This program holds no xgrad code and no OpenMP
// threads: OpenBLAS has both cores to itself (an OpenBLAS running inside a
// process whose OpenMP threads spin on the same cores is no floor).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cblas.h>

#include "openblas_env.hpp"
#include "training_gemms.hpp"

namespace {

void openblas_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
                    int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

}  // namespace

int main(int argc, char** argv) {
  xg::bench::reexec_with_openblas_coretype(argv);
  int threads = 0;
  if (argc == 3 && std::strcmp(argv[1], "--threads") == 0) threads = std::atoi(argv[2]);
  if (threads < 1 || threads > 1024) {
    std::fprintf(stderr, "usage: xgrad_floor --threads N   (N >= 1: OpenBLAS threads)\n");
    return 2;
  }
  openblas_set_num_threads(threads);

  xg::bench::TrainingBuffers buffers;
  for (int i = 0; i < 100; ++i) xg::bench::training_step_gemms(buffers, xg::bench::kBatch, openblas_sgemm);
  const auto t0 = std::chrono::steady_clock::now();
  xg::bench::training_epoch_gemms(buffers, openblas_sgemm);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("floor threads=%d seconds=%.4f gflops=%.1f epoch_gflop=%.3f core=%s\n", threads, s,
              xg::bench::training_epoch_flops() / s * 1e-9, xg::bench::training_epoch_flops() * 1e-9,
              xg::bench::openblas_core_name());
  return 0;
}
