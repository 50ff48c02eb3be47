#include "floor.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

namespace xg::bench {

std::vector<GemmShape> training_step_gemms() {
  struct Layer {
    int in, out;
    bool relu;
  };
  const Layer layers[] = {{784, 256, true}, {256, 128, true}, {128, 10, false}};
  std::vector<GemmShape> step;
  for (const Layer& l : layers)  // forward, first layer to last
    step.push_back({l.in == 784 ? "fwd 784->256" : l.in == 256 ? "fwd 256->128" : "fwd 128->10", Trans::No,
                    Trans::Yes, kBatch, l.out, l.in, 0.0f, true, l.relu});
  for (int i = 2; i >= 0; --i) {  // backward, last layer to first
    const Layer& l = layers[i];
    const char* dw = i == 0 ? "dW 256x784" : i == 1 ? "dW 128x256" : "dW 10x128";
    const char* dx = i == 0 ? "dx 64x784" : i == 1 ? "dx 64x256" : "dx 64x128";
    step.push_back({dw, Trans::Yes, Trans::No, l.out, l.in, kBatch, 1.0f, false, false});
    step.push_back({dx, Trans::No, Trans::No, kBatch, l.in, l.out, 1.0f, false, false});
  }
  return step;
}

GemmOperands::GemmOperands(const GemmShape& s, unsigned seed)
    : shape(s),
      lda(s.ta == Trans::No ? s.K : s.M),
      ldb(s.tb == Trans::No ? s.N : s.K),
      ldc(s.N),
      A(std::size_t(s.M) * s.K),
      B(std::size_t(s.K) * s.N),
      C(std::size_t(s.M) * s.N),
      bias(std::size_t(s.N)) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (auto* v : {&A, &B, &C, &bias})
    for (float& x : *v) x = dist(rng);
}

void run_openblas(GemmOperands& op) {
  const GemmShape& s = op.shape;
  cblas_sgemm(CblasRowMajor, s.ta == Trans::Yes ? CblasTrans : CblasNoTrans,
              s.tb == Trans::Yes ? CblasTrans : CblasNoTrans, s.M, s.N, s.K, 1.0f, op.A.data(), op.lda,
              op.B.data(), op.ldb, s.beta, op.C.data(), op.ldc);
}

void run_xgrad(GemmOperands& op) {
  const GemmShape& s = op.shape;
  Epilogue epi;
  epi.bias = s.bias ? op.bias.data() : nullptr;
  epi.relu = s.relu;
  gemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, op.A.data(), op.lda, op.B.data(), op.ldb, s.beta, op.C.data(),
       op.ldc, epi);
}

namespace {

template <class RunGemm>
double epoch_seconds(RunGemm run) {
  std::vector<GemmOperands> step;
  unsigned seed = 1;
  for (const GemmShape& s : training_step_gemms()) step.emplace_back(s, seed++);
  for (GemmOperands& op : step) run(op);  // warm up: pack buffers, thread pools
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kEpochSteps; ++i)
    for (GemmOperands& op : step) run(op);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double openblas_floor_epoch_seconds(int threads) {
  openblas_set_num_threads(threads);
  return epoch_seconds(run_openblas);
}

double xgrad_gemm_epoch_seconds(int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  const double s = epoch_seconds(run_xgrad);
  omp_set_num_threads(saved);
  return s;
}

void reexec_with_openblas_coretype(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);
  std::perror("bench: re-exec with OPENBLAS_CORETYPE=SkylakeX failed; OpenBLAS may run slow");
}

const char* openblas_core_name() { return openblas_get_corename(); }

}  // namespace xg::bench
