#include "gemm_shapes.hpp"

#include <random>

#include <cblas.h>

#include "training_gemms.hpp"

namespace xg::bench {

std::vector<GemmShape> training_step_shapes() {
  std::vector<GemmShape> step;
  for (int l = 0; l < kLayers; ++l) {  // forward, first layer to last
    const int in = kWidths[l], out = kWidths[l + 1];
    step.push_back({"fwd " + std::to_string(in) + "->" + std::to_string(out), Trans::No, Trans::Yes, kBatch, out, in,
                    0.0f, true, l + 1 < kLayers});
  }
  for (int l = kLayers - 1; l >= 0; --l) {  // backward, last layer to first
    const int in = kWidths[l], out = kWidths[l + 1];
    step.push_back({"dW " + std::to_string(out) + "x" + std::to_string(in), Trans::Yes, Trans::No, out, in, kBatch,
                    1.0f, false, false});
    if (l > 0)
      step.push_back({"dx " + std::to_string(kBatch) + "x" + std::to_string(in), Trans::No, Trans::No, kBatch, in, out,
                      1.0f, false, false});
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

}  // namespace xg::bench
