#pragma once
// General matrix multiply for row-major float32 matrices: the one kernel that
// does almost all of a training step's arithmetic.
//
//   C (M,N) = alpha * op(A) · op(B) + beta * C
//
// op(A) is (M,K): A is stored (M,K) with row stride lda when ta == Trans::No,
//                 or stored (K,M) with row stride lda when ta == Trans::Yes.
// op(B) is (K,N): B is stored (K,N) with row stride ldb when tb == Trans::No,
//                 or stored (N,K) with row stride ldb when tb == Trans::Yes.
// C is stored (M,N) with row stride ldc. When beta == 0, C is not read
// (it may hold NaN or garbage).
//
// Training needs three layouts, none of which materialises a transpose:
//   forward        y  = x · Wᵀ       gemm(No,  Yes, ...)   x (B,in), W (out,in)
//   input grad     dx = dy · W       gemm(No,  No,  ...)   dy (B,out)
//   weight grad    dW += dyᵀ · x     gemm(Yes, No,  ...)   beta = 1 accumulates
// The ops call them through the named wrappers at the end of this file
// (gemm_xwt, gemm_accumulate_dx, gemm_accumulate_dw, and gemm_ab,
// gemm_accumulate_abt, gemm_accumulate_atb for a plain matmul), never gemm()
// with its thirteen arguments.
//
// An optional epilogue is applied to each finished element of C, saving a
// separate pass over memory:
//   bias:  C[m][n] += bias[n]           (bias has N elements)
//   relu:  C[m][n]  = max(C[m][n], 0)   (after the bias)
//   relu_mask: C[m][n] = 0 where mask[m][n] <= 0 (ReLU's backward, last)
//   relu_copy: also stores max(C[m][n], 0) in a second matrix (ReLU's forward)
//   nonfinite: flags an inf or NaN written to C
//
// Results do not depend on the number of threads: the K dimension is never
// split across threads, so every element is summed in the same order.

#include <atomic>

#include "core/sgd_rule.hpp"

namespace xg {

enum class Trans { No, Yes };

struct Epilogue {
  const float* bias = nullptr;  // N elements added to every row, or null
  bool relu = false;            // clamp at zero after the bias
  // Or null: laid out as C (row stride ldc), the output y of a ReLU whose input
  // gradient C is: C[m][n] becomes 0 where y[m][n] <= 0 and passes where y > 0
  // or is NaN (relu's own backward rule, core/ops.cpp), applied last, to the
  // finished element. For C overwritten (beta 0) and not computed as its
  // transpose; through gemm_accumulate_dx.
  const float* relu_mask = nullptr;
  // Or null: laid out as C (row stride ldc), receives relu(C[m][n]) = C[m][n] < 0
  // ? 0 : C[m][n] of each finished element (a NaN and -0 pass, as in relu's own
  // forward, core/ops.cpp) while C gets the element itself: the ReLU that
  // follows a linear layer, made in the same pass (ops' linear(..., relu_follows)).
  float* relu_copy = nullptr;
  // Set (to true) when an element written to C is inf or NaN, or null: a check
  // made while each element is in a register, instead of a pass over C.
  std::atomic<bool>* nonfinite = nullptr;
  // Or C holds weights and alpha·op(A)·op(B) is their gradient (beta unused): each
  // weight gets SGD's update instead (core/sgd_rule.hpp), and `velocity`, laid out
  // as C, its velocity's. Only through gemm_sgd_update_w.
  const SgdStep* sgd = nullptr;
  float* velocity = nullptr;
  // Also stores Σ_k op(A)[m][k] for each row m of C (alpha not applied), summed
  // in k order from 0 as op(A) is packed: the bias gradient of a weight-gradient
  // GEMM. Only for op(A) stored (K,M) and K in one block (gemm_dw_sums_dy).
  float* a_row_sums = nullptr;
};

void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue = {});

// The textbook triple loop, in double precision accumulators: the reference
// the tests compare the fast kernel with. Same contract as gemm().
void gemm_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue = {});

// ---- Named layouts ------------------------------------------------------------
// Each is one gemm() call; the comment gives the shapes (all row-major, each
// matrix densely stored, so every row stride is its column count).
//
// Linear's three, with B = batch rows, K = input features, N = output features
// and the weight in PyTorch's layout w (N,K):

// forward: x (B,K), w (N,K) -> y (B,N) = x · wᵀ, then the epilogue (bias (N), relu).
// y is overwritten (not read).
// The SIMD instruction set the kernel was compiled for (xsimd's name: "avx2",
// "sse4.2", …) and its float32 lanes per register (`xgrad --version`).
const char* gemm_simd_name();
int gemm_simd_floats();

inline void gemm_xwt(int B, int N, int K, const float* x, const float* w, float* y, Epilogue epilogue = {}) {
  gemm(Trans::No, Trans::Yes, B, N, K, 1.0f, x, K, w, K, 0.0f, y, N, epilogue);
}

// input gradient: dy (B,N), w (N,K) -> dx (B,K) += dy · w
// (add == false: dx = dy · w, dx not read; as for the weight gradient below)
// With relu_mask (B,K), add == false only: x = relu(u) and the result is u's
// gradient instead, dx = where(relu_mask > 0, dy · w, 0) with relu_mask = x,
// relu's backward made in the same pass (Epilogue::relu_mask).
inline void gemm_accumulate_dx(int B, int N, int K, const float* dy, const float* w, float* dx, bool add = true,
                               const float* relu_mask = nullptr) {
  Epilogue mask;
  mask.relu_mask = relu_mask;
  gemm(Trans::No, Trans::No, B, K, N, 1.0f, dy, N, w, K, add ? 1.0f : 0.0f, dx, K, mask);
}

// True when the weight-gradient GEMMs below can also store the column sums of
// dy (B,N) (a bias's gradient, `dy_sums`): they sum dy's columns as they pack
// them, which they do in one block when B is at most the kernel's K block.
bool gemm_dw_sums_dy(int B);

// weight gradient: dy (B,N), x (B,K) -> dw (N,K) += dyᵀ · x
// (add == false: dw = dyᵀ · x, dw not read; for a gradient still all zeros,
// see Node::grad_to_overwrite). With dy_sums (needs gemm_dw_sums_dy(B)):
// dy_sums (N) = Σ_b dy[b][n], summed over b in order from 0, stored.
inline void gemm_accumulate_dw(int B, int N, int K, const float* dy, const float* x, float* dw, bool add = true,
                               float* dy_sums = nullptr) {
  Epilogue sums;
  sums.a_row_sums = dy_sums;
  gemm(Trans::Yes, Trans::No, N, K, B, 1.0f, dy, N, x, K, add ? 1.0f : 0.0f, dw, K, sums);
}

// SGD's update of a weight, made by its gradient's GEMM (core/ops.cpp,
// Node::sgd_step): dy (B,N), x (B,K), g = dyᵀ · x -> w (N,K) and its velocity
// (N,K, used with momentum) get `step` (core/sgd_rule.hpp) with gradient g, each
// weight exactly as the optimizer's step would give it from the g this GEMM
// would have stored; g is never stored nor read back. *nonfinite is set if a
// new weight is inf or NaN. dy_sums as for gemm_accumulate_dw. Returns false,
// doing nothing, when B is deeper than one K block of the kernel (g would then be
// summed into w block by block): exactly when gemm_dw_sums_dy(B) is false.
bool gemm_sgd_update_w(int B, int N, int K, const float* dy, const float* x, const SgdStep& step, float* w,
                       float* velocity, std::atomic<bool>* nonfinite, float* dy_sums = nullptr);

// A plain matmul c (M,N) = a (M,K) · b (K,N) and its two gradients:

// a (M,K), b (K,N) -> c (M,N) = a · b   (c overwritten, not read)
inline void gemm_ab(int M, int N, int K, const float* a, const float* b, float* c) {
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
}

// a (M,K), b (N,K) -> c (M,N) += a · bᵀ
inline void gemm_accumulate_abt(int M, int N, int K, const float* a, const float* b, float* c) {
  gemm(Trans::No, Trans::Yes, M, N, K, 1.0f, a, K, b, K, 1.0f, c, N);
}

// a (K,M), b (K,N) -> c (M,N) = aᵀ · b   (c overwritten, not read)
inline void gemm_atb(int M, int N, int K, const float* a, const float* b, float* c) {
  gemm(Trans::Yes, Trans::No, M, N, K, 1.0f, a, M, b, N, 0.0f, c, N);
}

// a (K,M), b (K,N) -> c (M,N) += aᵀ · b
inline void gemm_accumulate_atb(int M, int N, int K, const float* a, const float* b, float* c) {
  gemm(Trans::Yes, Trans::No, M, N, K, 1.0f, a, M, b, N, 1.0f, c, N);
}

}  // namespace xg
