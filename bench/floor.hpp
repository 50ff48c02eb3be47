#pragma once
// The GEMMs of MLP training, timed through OpenBLAS and through xg::gemm.
//
// One training step of the MLP 784-256-128-10 at batch 64 runs nine GEMMs (Linear
// weight W is (out,in), as in PyTorch):
//   forward      y  (64,out) = x (64,in) · W (out,in)ᵀ  + b     gemm(No,  Yes)
//   input grad   dx (64,in) += dy (64,out) · W (out,in)         gemm(No,  No)
//   weight grad  dW (out,in) += dy (64,out)ᵀ · x (64,in)        gemm(Yes, No)
// for (in,out) = (784,256), (256,128), (128,10). An epoch is 938 steps
// (60000 images / 64, rounded up).
//
// The "floor" of an epoch is the time of just these GEMMs through OpenBLAS: a whole
// training epoch cannot be faster than that with the same BLAS. OpenBLAS must see
// OPENBLAS_CORETYPE before it loads (see reexec_with_openblas_coretype).
#include <vector>

#include "core/gemm.hpp"

namespace xg::bench {

struct GemmShape {
  const char* name;  // e.g. "fwd 784->256"
  Trans ta, tb;
  int M, N, K;
  float beta;        // 0 overwrites (forward), 1 accumulates (gradients)
  bool bias, relu;   // the epilogue xg::gemm applies in training (OpenBLAS has none)
};

constexpr int kBatch = 64;
constexpr int kEpochSteps = 938;

// The nine GEMMs of one training step, in the order a step runs them.
std::vector<GemmShape> training_step_gemms();

// Operands for one GEMM, filled with random numbers in [-1,1]; stored shapes follow
// gemm.hpp: A (M,K) or (K,M), B (K,N) or (N,K), C (M,N), bias (N).
struct GemmOperands {
  explicit GemmOperands(const GemmShape& shape, unsigned seed = 1);
  GemmShape shape;
  int lda, ldb, ldc;
  std::vector<float> A, B, C, bias;
};

// One call of the shape through OpenBLAS (cblas_sgemm, no epilogue) or xg::gemm.
void run_openblas(GemmOperands& op);
void run_xgrad(GemmOperands& op);

// Wall time of the GEMMs of one epoch (938 steps x 9 GEMMs) with the given number
// of threads: through OpenBLAS (the floor) and through xg::gemm (with its epilogue).
double openblas_floor_epoch_seconds(int threads);
double xgrad_gemm_epoch_seconds(int threads);

// If OPENBLAS_CORETYPE is unset, sets it to SkylakeX and re-executes this program
// (/proc/self/exe) so that OpenBLAS sees it when it loads; Debian's OpenBLAS
// misdetects newer CPUs as Prescott and runs ~5x slow. Call first thing in main().
// Set OPENBLAS_CORETYPE yourself to choose another kernel.
void reexec_with_openblas_coretype(char** argv);

// The OpenBLAS kernel in use, e.g. "SkylakeX".
const char* openblas_core_name();

}  // namespace xg::bench
