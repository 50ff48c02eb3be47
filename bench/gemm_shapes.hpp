#pragma once
// The GEMMs of one training step one at a time, for xgrad_bench's per-GEMM table:
// each shape with its own operands, called through OpenBLAS or xg::gemm.
//
// The shapes are those of training_gemms.hpp (MLP 784-256-128-10, batch 64,
// Linear weight W (out,in) as in PyTorch):
//   forward      y  (64,out) = x (64,in) · W (out,in)ᵀ  + b     gemm(No,  Yes)
//   weight grad  dW (out,in) += dy (64,out)ᵀ · x (64,in)        gemm(Yes, No)
//   input grad   dx (64,in) += dy (64,out) · W (out,in)         gemm(No,  No)
// eight of them (the first layer has no input gradient). This table times each
// GEMM alone, with both libraries in one process: good for comparing kernels
// shape by shape, not a floor for an epoch (that is xgrad_floor's job).
#include <string>
#include <vector>

#include "core/gemm.hpp"

namespace xg::bench {

struct GemmShape {
  std::string name;  // e.g. "fwd 784->256"
  Trans ta, tb;
  int M, N, K;
  float beta;        // 0 overwrites (forward), 1 accumulates (gradients)
  bool bias, relu;   // the epilogue xg::gemm applies in training (OpenBLAS has none)
};

// The eight GEMMs of one training step, in the order a step runs them.
std::vector<GemmShape> training_step_shapes();

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

}  // namespace xg::bench
