#include "core/gemm.hpp"

#include <algorithm>

namespace xg {

void gemm_reference(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue) {
  for (int m = 0; m < M; ++m) {
    if (epilogue.a_row_sums) {
      float s = 0.0f;
      for (int k = 0; k < K; ++k) s += ta == Trans::No ? A[m * lda + k] : A[k * lda + m];
      epilogue.a_row_sums[m] = s;
    }
    for (int n = 0; n < N; ++n) {
      double acc = 0.0;
      for (int k = 0; k < K; ++k) {
        const float a = ta == Trans::No ? A[m * lda + k] : A[k * lda + m];
        const float b = tb == Trans::No ? B[k * ldb + n] : B[n * ldb + k];
        acc += double(a) * double(b);
      }
      float c = float(alpha * acc);
      if (beta != 0.0f) c += beta * C[m * ldc + n];
      if (epilogue.bias) c += epilogue.bias[n];
      if (epilogue.relu) c = std::max(c, 0.0f);
      if (epilogue.relu_mask && epilogue.relu_mask[m * ldc + n] <= 0.0f) c = 0.0f;  // NaN passes
      C[m * ldc + n] = c;
      if (epilogue.relu_copy) epilogue.relu_copy[m * ldc + n] = c < 0.0f ? 0.0f : c;  // NaN and -0 pass
    }
  }
}

}  // namespace xg
