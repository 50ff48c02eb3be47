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
//
// An optional epilogue is applied to each finished element of C, saving a
// separate pass over memory:
//   bias:  C[m][n] += bias[n]           (bias has N elements)
//   relu:  C[m][n]  = max(C[m][n], 0)   (after the bias)
//
// Results do not depend on the number of threads: the K dimension is never
// split across threads, so every element is summed in the same order.

namespace xg {

enum class Trans { No, Yes };

struct Epilogue {
  const float* bias = nullptr;  // N elements added to every row, or null
  bool relu = false;            // clamp at zero after the bias
};

void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue = {});

// The textbook triple loop, in double precision accumulators: the reference
// the tests compare the fast kernel with. Same contract as gemm().
void gemm_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue = {});

}  // namespace xg
