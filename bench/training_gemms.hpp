#pragma once
// The GEMMs of one training epoch of the reference workload, with the operands
// shared the way training shares them. Header-only and free of xgrad and of any
// BLAS, so the OpenBLAS floor (xgrad_floor) runs in a process that holds no
// xgrad code and no OpenMP threads.
//
// Reference workload: MLP 784-256-128-10 on Fashion-MNIST (60000 training
// images), batch 64: 937 steps of 64 and one of 32. Linear weight W is (out,in)
// as in PyTorch. One step runs eight GEMMs:
//   forward      x[l+1] (b,out) = x[l] (b,in) · W[l] (out,in)ᵀ     (No,  Yes), beta 0
//   weight grad  dW[l] (out,in) += dy[l] (b,out)ᵀ · x[l] (b,in)    (Yes, No),  beta 1
//   input grad   dy[l-1] (b,in) += dy[l] (b,out) · W[l] (out,in)   (No,  No),  beta 1
// for l = 0, 1, 2 with (in,out) = (784,256), (256,128), (128,10); the backward
// pass runs l = 2, 1, 0 and the first layer has no input gradient (the images
// need none, so training skips it). The sharing: W[l] is read by the forward and
// the input-gradient GEMM, x[l] is written by one layer's forward, read by the
// next layer's forward and by the weight-gradient GEMM, dy[l] is written by one
// input-gradient GEMM and read by the next two.
//
// The floor does only these GEMMs (no bias, ReLU, loss, optimizer step or data
// copy), so a whole training epoch with the same GEMM speed cannot be faster.
#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

namespace xg::bench {

constexpr int kBatch = 64;
constexpr int kTrainImages = 60000;
constexpr int kLayers = 3;
constexpr int kWidths[kLayers + 1] = {784, 256, 128, 10};

// Every buffer one epoch's GEMMs touch, filled once with values of training's
// scale: inputs in [-1,1], weights in ±1/sqrt(in) (PyTorch's Linear default).
struct TrainingBuffers {
  std::vector<float> x[kLayers + 1];  // x[0] input batch, x[l+1] output of layer l: (kBatch, width)
  std::vector<float> dy[kLayers];     // gradient at the output of layer l: (kBatch, out)
  std::vector<float> w[kLayers], dw[kLayers];  // (out, in)

  explicit TrainingBuffers(unsigned seed = 1) {
    std::mt19937 rng(seed);
    auto fill = [&rng](std::vector<float>& v, std::size_t n, float bound) {
      std::uniform_real_distribution<float> dist(-bound, bound);
      v.resize(n);
      for (float& f : v) f = dist(rng);
    };
    for (int l = 0; l <= kLayers; ++l) fill(x[l], std::size_t(kBatch) * kWidths[l], 1.0f);
    for (int l = 0; l < kLayers; ++l) {
      const int in = kWidths[l], out = kWidths[l + 1];
      fill(dy[l], std::size_t(kBatch) * out, 0.01f);
      fill(w[l], std::size_t(out) * in, 1.0f / float(std::sqrt(float(in))));
      fill(dw[l], std::size_t(out) * in, 0.01f);
    }
  }
};

// One step's GEMMs on batch rows b, through `sgemm`, a callable with cblas_sgemm's
// row-major arguments without the layout:
//   sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
// where trans_a, trans_b are bools (true = transposed).
template <class Sgemm>
void training_step_gemms(TrainingBuffers& t, int b, Sgemm&& sgemm) {
  for (int l = 0; l < kLayers; ++l) {
    const int in = kWidths[l], out = kWidths[l + 1];
    sgemm(false, true, b, out, in, 1.0f, t.x[l].data(), in, t.w[l].data(), in, 0.0f, t.x[l + 1].data(), out);
  }
  for (int l = kLayers - 1; l >= 0; --l) {
    const int in = kWidths[l], out = kWidths[l + 1];
    sgemm(true, false, out, in, b, 1.0f, t.dy[l].data(), out, t.x[l].data(), in, 1.0f, t.dw[l].data(), in);
    if (l > 0)
      sgemm(false, false, b, in, out, 1.0f, t.dy[l].data(), out, t.w[l].data(), in, 1.0f, t.dy[l - 1].data(), in);
  }
}

// One epoch: 937 steps at batch 64, then the partial last batch of 32.
template <class Sgemm>
void training_epoch_gemms(TrainingBuffers& t, Sgemm&& sgemm) {
  for (int i = 0; i < kTrainImages / kBatch; ++i) training_step_gemms(t, kBatch, sgemm);
  if (kTrainImages % kBatch) training_step_gemms(t, kTrainImages % kBatch, sgemm);
}

// Multiply-adds of one epoch's GEMMs (for GFLOP/s).
inline double training_epoch_flops() {
  double per_row = 0.0;  // per batch row: forward + weight grad, input grad but the first layer's
  for (int l = 0; l < kLayers; ++l)
    per_row += double(kWidths[l]) * kWidths[l + 1] * (l > 0 ? 3 : 2);
  return 2.0 * per_row * kTrainImages;
}

}  // namespace xg::bench
