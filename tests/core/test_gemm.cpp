// gemm (the fast kernel) against gemm_reference (the textbook triple loop in
// double precision): every layout, alpha/beta, the epilogue, padded strides, odd
// and tiny sizes, the MLP training shapes, and bit-identical results for 1 and 2
// OpenMP threads.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>
#include <string>
#include <vector>


#include "core/gemm.hpp"
#include "tests/support/threads.hpp"

using xg::Epilogue;
using xg::gemm;
using xg::gemm_reference;
using xg::Trans;

namespace {

struct GemmCase {
  Trans ta = Trans::No, tb = Trans::No;
  int M = 1, N = 1, K = 1;
  float alpha = 1.0f, beta = 0.0f;
  int lda_pad = 0, ldb_pad = 0, ldc_pad = 0;  // extra columns beyond the logical width
  bool bias = false, relu = false;
};

std::string describe(const GemmCase& c) {
  return std::string("ta=") + (c.ta == Trans::Yes ? "T" : "N") + " tb=" +
         (c.tb == Trans::Yes ? "T" : "N") + " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) +
         " K=" + std::to_string(c.K) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta) + " pads=" + std::to_string(c.lda_pad) + "," +
         std::to_string(c.ldb_pad) + "," + std::to_string(c.ldc_pad) + " bias=" +
         std::to_string(c.bias) + " relu=" + std::to_string(c.relu);
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Runs one case through both implementations and checks every element of C,
// including the padding columns, which neither may touch.
void check_case(const GemmCase& c, std::mt19937& rng) {
  CAPTURE(describe(c));
  // Stored shapes: A is (M,K) or (K,M); B is (K,N) or (N,K); C is (M,N).
  const int a_rows = c.ta == Trans::No ? c.M : c.K, a_cols = c.ta == Trans::No ? c.K : c.M;
  const int b_rows = c.tb == Trans::No ? c.K : c.N, b_cols = c.tb == Trans::No ? c.N : c.K;
  const int lda = a_cols + c.lda_pad, ldb = b_cols + c.ldb_pad, ldc = c.N + c.ldc_pad;
  const std::vector<float> A = random_floats(std::size_t(a_rows) * lda + 1, rng);
  const std::vector<float> B = random_floats(std::size_t(b_rows) * ldb + 1, rng);
  const std::vector<float> bias = random_floats(std::size_t(c.N), rng);
  std::vector<float> C0 = random_floats(std::size_t(c.M) * ldc, rng);
  if (c.beta == 0.0f) {
    // C must not be read: fill the logical part with NaN.
    for (int m = 0; m < c.M; ++m)
      for (int n = 0; n < c.N; ++n) C0[std::size_t(m) * ldc + n] = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<float> fast = C0, ref = C0;
  Epilogue epi;
  epi.bias = c.bias ? bias.data() : nullptr;
  epi.relu = c.relu;
  gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, fast.data(), ldc, epi);
  gemm_reference(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, ref.data(), ldc,
                 epi);

  // Inputs are in [-1,1]; float accumulation error grows roughly like sqrt(K).
  const double tol = 1e-5 * std::sqrt(double(std::max(c.K, 1)));
  int bad = 0;
  for (int m = 0; m < c.M; ++m) {
    for (int n = 0; n < ldc; ++n) {
      const std::size_t i = std::size_t(m) * ldc + n;
      if (n >= c.N) {
        // Padding: must be left bit-for-bit alone.
        if (std::memcmp(&fast[i], &C0[i], sizeof(float)) != 0) ++bad;
        continue;
      }
      const double err = std::abs(double(fast[i]) - double(ref[i]));
      if (!(std::isfinite(fast[i]) && err <= tol * (1.0 + std::abs(double(ref[i]))))) {
        if (bad < 5) {
          MESSAGE("m=" << m << " n=" << n << " fast=" << fast[i] << " ref=" << ref[i]);
        }
        ++bad;
      }
    }
  }
  CHECK(bad == 0);
}

const Trans kTrans[2] = {Trans::No, Trans::Yes};

}  // namespace

TEST_CASE("gemm matches gemm_reference for every layout on small and odd sizes") {
  std::mt19937 rng(1234);
  const int sizes[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 70};
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (int M : {1, 7, 17, 64})
        for (int N : sizes)
          for (int K : {1, 3, 16, 33}) {
            GemmCase c;
            c.ta = ta, c.tb = tb, c.M = M, c.N = N, c.K = K;
            check_case(c, rng);
          }
}

TEST_CASE("gemm matches gemm_reference on randomised sizes 1..70 with alpha, beta, strides, epilogue") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> size(1, 70), pad(0, 5), coin(0, 1);
  const float alphas[] = {1.0f, 0.5f, -2.0f};
  const float betas[] = {0.0f, 1.0f, -0.75f};
  for (int trial = 0; trial < 600; ++trial) {
    GemmCase c;
    c.ta = kTrans[coin(rng)], c.tb = kTrans[coin(rng)];
    c.M = size(rng), c.N = size(rng), c.K = size(rng);
    c.alpha = alphas[trial % 3];
    c.beta = betas[(trial / 3) % 3];
    c.lda_pad = pad(rng), c.ldb_pad = pad(rng), c.ldc_pad = pad(rng);
    c.bias = coin(rng) == 1, c.relu = coin(rng) == 1;
    check_case(c, rng);
  }
}

TEST_CASE("gemm with beta 0 ignores NaN in C, beta 1 accumulates") {
  std::mt19937 rng(7);
  for (Trans ta : kTrans)
    for (Trans tb : kTrans) {
      GemmCase c;
      c.ta = ta, c.tb = tb, c.M = 37, c.N = 45, c.K = 29;
      c.beta = 0.0f;  // check_case fills C with NaN when beta == 0
      check_case(c, rng);
      c.beta = 1.0f;
      check_case(c, rng);
    }

  // Accumulating twice with beta = 1 doubles the product.
  const int M = 19, N = 23, K = 11;
  const std::vector<float> A = random_floats(std::size_t(M) * K, rng);
  const std::vector<float> B = random_floats(std::size_t(K) * N, rng);
  std::vector<float> once(std::size_t(M) * N, 0.0f), twice(std::size_t(M) * N, 0.0f);
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 1.0f, once.data(), N);
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 1.0f, twice.data(), N);
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 1.0f, twice.data(), N);
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == doctest::Approx(2.0f * once[i]).epsilon(1e-5));
}

TEST_CASE("gemm epilogue adds the bias per column, then applies relu") {
  std::mt19937 rng(99);
  for (Trans ta : kTrans)
    for (Trans tb : kTrans)
      for (float beta : {0.0f, 1.0f})
        for (bool relu : {false, true}) {
          GemmCase c;
          c.ta = ta, c.tb = tb, c.M = 21, c.N = 50, c.K = 40, c.beta = beta;
          c.bias = true, c.relu = relu;
          check_case(c, rng);
          c.bias = false;  // relu alone
          check_case(c, rng);
        }

  // relu really clamps: with A = 0 and bias = -1 every output is exactly 0.
  const int M = 3, N = 40, K = 5;
  const std::vector<float> A(std::size_t(M) * K, 0.0f), B(std::size_t(K) * N, 1.0f);
  const std::vector<float> bias(N, -1.0f);
  std::vector<float> C(std::size_t(M) * N, 5.0f);
  Epilogue epi;
  epi.bias = bias.data();
  epi.relu = true;
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N, epi);
  for (float x : C) CHECK(x == 0.0f);
}

TEST_CASE("weight-gradient GEMMs store dy's column sums (the bias gradient) as a row-by-row float sum would, at any thread count") {
  std::mt19937 rng(23);
  struct Case {
    int B, N, K;
  };
  // the MLP's three layers, a ragged one, and more output rows than columns (columns split among threads)
  const Case cases[] = {{64, 256, 784}, {64, 128, 256}, {64, 10, 128}, {37, 45, 29}, {64, 700, 40}, {0, 9, 5}};
  for (const Case& c : cases) {
    CAPTURE(c.N);
    CAPTURE(c.K);
    REQUIRE(xg::gemm_dw_sums_dy(c.B));
    const std::vector<float> dy = random_floats(std::size_t(c.B) * c.N + 1, rng);
    const std::vector<float> x = random_floats(std::size_t(c.B) * c.K + 1, rng);
    std::vector<float> expected(std::size_t(c.N), 0.0f);  // accumulate_column_sums' order (core/ops.cpp)
    for (int b = 0; b < c.B; ++b)
      for (int n = 0; n < c.N; ++n) expected[std::size_t(n)] += dy[std::size_t(b) * c.N + n];
    for (int threads : {1, 2, 4}) {
      CAPTURE(threads);
      const xg::testing::ScopedThreads scope(threads);
      std::vector<float> dw(std::size_t(c.N) * c.K), sums(std::size_t(c.N), -1.0f);
      xg::gemm_accumulate_dw(c.B, c.N, c.K, dy.data(), x.data(), dw.data(), false, sums.data());
      CHECK(std::memcmp(sums.data(), expected.data(), sums.size() * sizeof(float)) == 0);
      std::vector<float> plain(dw.size());
      xg::gemm_accumulate_dw(c.B, c.N, c.K, dy.data(), x.data(), plain.data(), false);
      CHECK(std::memcmp(dw.data(), plain.data(), dw.size() * sizeof(float)) == 0);  // dW itself unchanged
      xg::SgdStep step;
      step.lr = 0.1f;
      std::vector<float> w = x, update_sums(std::size_t(c.N), -1.0f);
      w.resize(dw.size());
      std::atomic<bool> nonfinite{false};
      REQUIRE(xg::gemm_sgd_update_w(c.B, c.N, c.K, dy.data(), x.data(), step, w.data(), nullptr, &nonfinite,
                                    update_sums.data()));
      CHECK(std::memcmp(update_sums.data(), expected.data(), sums.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("gemm handles K == 0 as alpha * 0 + beta * C, then the epilogue") {
  std::mt19937 rng(5);
  for (float beta : {0.0f, 1.0f, 0.5f}) {
    GemmCase c;
    c.M = 9, c.N = 35, c.K = 0, c.beta = beta, c.bias = true;
    check_case(c, rng);
  }
}

TEST_CASE("gemm matches gemm_reference on the MLP training shapes") {
  // Batch 64, MLP 784-256-128-10, Linear weight (out,in).
  struct Layer {
    int in, out;
  };
  const Layer layers[] = {{784, 256}, {256, 128}, {128, 10}};
  const int batch = 64;
  std::mt19937 rng(2024);
  for (const Layer& l : layers) {
    GemmCase fwd;  // y (B,out) = x (B,in) · W (out,in)ᵀ + b, relu
    fwd.ta = Trans::No, fwd.tb = Trans::Yes, fwd.M = batch, fwd.N = l.out, fwd.K = l.in;
    fwd.bias = true, fwd.relu = true;
    check_case(fwd, rng);
    GemmCase dx;  // dx (B,in) += dy (B,out) · W (out,in)
    dx.ta = Trans::No, dx.tb = Trans::No, dx.M = batch, dx.N = l.in, dx.K = l.out, dx.beta = 1.0f;
    check_case(dx, rng);
    GemmCase dw;  // dW (out,in) += dy (B,out)ᵀ · x (B,in)
    dw.ta = Trans::Yes, dw.tb = Trans::No, dw.M = l.out, dw.N = l.in, dw.K = batch, dw.beta = 1.0f;
    check_case(dw, rng);
  }
  // Larger than one cache block in every dimension.
  GemmCase big;
  big.ta = Trans::No, big.tb = Trans::Yes, big.M = 300, big.N = 1100, big.K = 900, big.beta = 0.5f;
  big.bias = true;
  check_case(big, rng);
  big.ta = Trans::Yes, big.tb = Trans::No;
  check_case(big, rng);
}

TEST_CASE("gemm results are bit-identical with 1, 2, 3 and 4 OpenMP threads") {
  struct Shape {
    Trans ta, tb;
    int M, N, K;
  };
  const Shape shapes[] = {
      {Trans::No, Trans::Yes, 256, 784, 64},  {Trans::Yes, Trans::No, 256, 784, 64},
      {Trans::No, Trans::No, 512, 512, 512},  {Trans::No, Trans::Yes, 64, 256, 784},
      {Trans::Yes, Trans::Yes, 333, 517, 1031},
      // a block of few rows in one tall tile: C's own rows, and Cᵀ's (the forward of 10 outputs)
      {Trans::Yes, Trans::No, 10, 784, 300},  {Trans::No, Trans::No, 12, 700, 200},
      {Trans::No, Trans::Yes, 2000, 10, 128},
  };
  std::mt19937 rng(31337);
  for (const Shape& s : shapes) {
    CAPTURE(s.M);
    CAPTURE(s.N);
    CAPTURE(s.K);
    const int lda = s.ta == Trans::No ? s.K : s.M, ldb = s.tb == Trans::No ? s.N : s.K;
    const std::vector<float> A = random_floats(std::size_t(s.M) * s.K, rng);
    const std::vector<float> B = random_floats(std::size_t(s.K) * s.N, rng);
    const std::vector<float> bias = random_floats(std::size_t(s.N), rng);
    const std::vector<float> C0 = random_floats(std::size_t(s.M) * s.N, rng);
    Epilogue epi;
    epi.bias = bias.data();
    std::vector<float> one = C0;
    {
      const xg::testing::ScopedThreads scope(1);
      gemm(s.ta, s.tb, s.M, s.N, s.K, 0.5f, A.data(), lda, B.data(), ldb, 1.0f, one.data(), s.N, epi);
    }
    for (int threads = 2; threads <= 4; ++threads) {  // the columns are cut into more chunks than threads
      CAPTURE(threads);
      std::vector<float> many = C0;
      const xg::testing::ScopedThreads scope(threads);
      gemm(s.ta, s.tb, s.M, s.N, s.K, 0.5f, A.data(), lda, B.data(), ldb, 1.0f, many.data(), s.N, epi);
      CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("gemm's relu_copy receives relu of each element C receives, on every tile path and at any thread count") {
  // (ta, tb, M, N, K): the forward computed as its transpose on whole 8x8 blocks
  // (64 x 256) and on a ragged tile (40 x 24); a plain forward with a ragged right
  // edge (300 x 100); an input-gradient layout with ragged edges.
  const std::tuple<Trans, Trans, int, int, int> shapes[] = {{Trans::No, Trans::Yes, 64, 256, 784},
                                                            {Trans::No, Trans::Yes, 40, 24, 16},
                                                            {Trans::No, Trans::Yes, 300, 100, 50},
                                                            {Trans::No, Trans::No, 33, 50, 20}};
  std::mt19937 rng(77);
  for (const auto& [ta, tb, M, N, K] : shapes) {
    CAPTURE(M);
    CAPTURE(N);
    CAPTURE(K);
    const int lda = ta == Trans::No ? K : M, ldb = tb == Trans::No ? N : K;
    std::vector<float> A = random_floats(std::size_t(M) * K, rng);
    A[std::size_t(K) + 1] = std::numeric_limits<float>::quiet_NaN();  // row 1's elements are NaN: they pass
    const std::vector<float> B = random_floats(std::size_t(K) * N, rng), bias = random_floats(std::size_t(N), rng);
    std::vector<float> first, first_relu;
    for (int threads = 1; threads <= 3; ++threads) {
      CAPTURE(threads);
      const xg::testing::ScopedThreads scope(threads);
      std::vector<float> C(std::size_t(M) * N), relu_c(std::size_t(M) * N, -7.0f);
      Epilogue epi;
      epi.bias = bias.data(), epi.relu_copy = relu_c.data();
      gemm(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), N, epi);
      bool some_negative = false;
      for (std::size_t i = 0; i < C.size(); ++i) {
        const float expected = C[i] < 0.0f ? 0.0f : C[i];
        some_negative = some_negative || C[i] < 0.0f;
        CHECK(std::memcmp(&relu_c[i], &expected, sizeof(float)) == 0);
      }
      CHECK(some_negative);
      if (threads == 1) {
        first = C, first_relu = relu_c;
        std::vector<float> ref(std::size_t(M) * N), ref_relu(std::size_t(M) * N);
        Epilogue plain;
        plain.bias = bias.data(), plain.relu_copy = ref_relu.data();
        gemm_reference(ta, tb, M, N, K, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, ref.data(), N, plain);
        for (std::size_t i = 0; i < C.size(); ++i) {
          if (std::isnan(ref_relu[i])) {
            CHECK(std::isnan(relu_c[i]));
          } else {
            CHECK(relu_c[i] == doctest::Approx(ref_relu[i]).epsilon(1e-4).scale(1.0));
          }
        }
      } else {
        CHECK(std::memcmp(first.data(), C.data(), C.size() * sizeof(float)) == 0);
        CHECK(std::memcmp(first_relu.data(), relu_c.data(), relu_c.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("gemm gives the same bits whether A's rows are dense or far apart (A read in place)") {
  // op(A) stored (M,K) is read by the kernel in place, not packed: the row stride
  // must change nothing, including edge tiles (M = 13 is not a multiple of a tile).
  const int M = 13, N = 45, K = 300, pad = 4096 - K;
  std::mt19937 rng(7);
  const std::vector<float> dense = random_floats(std::size_t(M) * K, rng);
  std::vector<float> spread(std::size_t(M) * (K + pad), std::numeric_limits<float>::quiet_NaN());
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k) spread[std::size_t(m) * (K + pad) + k] = dense[std::size_t(m) * K + k];
  for (Trans tb : kTrans) {
    const std::vector<float> B = random_floats(std::size_t(K) * N, rng);
    const int ldb = tb == Trans::No ? N : K;
    std::vector<float> c_dense(std::size_t(M) * N), c_spread(std::size_t(M) * N);
    gemm(Trans::No, tb, M, N, K, 1.0f, dense.data(), K, B.data(), ldb, 0.0f, c_dense.data(), N);
    gemm(Trans::No, tb, M, N, K, 1.0f, spread.data(), K + pad, B.data(), ldb, 0.0f, c_spread.data(), N);
    CHECK(std::memcmp(c_dense.data(), c_spread.data(), c_dense.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("gemm gives the same bits whether op(B) is read in place (stored (K,N)) or packed (stored (N,K))") {
  // B stored (K,N) is read by the kernel in place, a ragged last panel aside; B
  // stored (N,K) is transposed into panels. Both multiply the same values in the
  // same order. N covers whole panels, a half panel (one whole vector) and ragged
  // ends; the (K,N) copy sits at the very end of its buffer, so a read past the
  // matrix would leave it (AddressSanitizer in the sanitizer build).
  std::mt19937 rng(11);
  for (int N : {1, 10, 16, 32, 45, 48, 64, 100}) {
    for (const auto& [ta, M, K] : {std::tuple{Trans::No, 64, 128}, std::tuple{Trans::Yes, 37, 64}, std::tuple{Trans::No, 9, 700}}) {
      CAPTURE(N);
      CAPTURE(M);
      CAPTURE(K);
      const std::vector<float> A = random_floats(std::size_t(M) * K, rng);
      const std::vector<float> b_kn = random_floats(std::size_t(K) * N, rng);
      std::vector<float> b_nk(std::size_t(N) * K);
      for (int k = 0; k < K; ++k)
        for (int n = 0; n < N; ++n) b_nk[std::size_t(n) * K + k] = b_kn[std::size_t(k) * N + n];
      const int lda = ta == Trans::No ? K : M;
      std::vector<float> in_place(std::size_t(M) * N), packed(std::size_t(M) * N);
      gemm(ta, Trans::No, M, N, K, 1.0f, A.data(), lda, b_kn.data(), N, 0.0f, in_place.data(), N);
      gemm(ta, Trans::Yes, M, N, K, 1.0f, A.data(), lda, b_nk.data(), K, 0.0f, packed.data(), N);
      CHECK(std::memcmp(in_place.data(), packed.data(), in_place.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("gemm's wide tiles and the narrow tiles after them match gemm_reference, at 1 and 2 threads") {
  // op(B) stored (K,N) is read in place in wide tiles (three vectors where the
  // registers allow) while whole ones are left, then in narrow tiles up to where
  // a ragged last panel is packed: N covers whole wide tiles (48, 96), a narrow
  // tile after them (64, 80, 784), and a packed ragged end behind both (81, 97,
  // 113, 145, 257). Reading the packed panel at the wrong place crashed a
  // convolution (N = 81 positions) in development.
  std::mt19937 rng(48);
  for (const int threads : {1, 2}) {
    const xg::testing::ScopedThreads scope(threads);
    for (const int N : {48, 64, 80, 81, 96, 97, 113, 145, 257, 784})
      for (const Trans ta : kTrans)
        for (const int M : {1, 9, 64})
          for (const int K : {4, 64}) {
            GemmCase c;
            c.ta = ta, c.tb = Trans::No, c.M = M, c.N = N, c.K = K;
            c.beta = K == 4 ? 1.0f : 0.0f, c.bias = M == 9, c.ldb_pad = N % 3;
            check_case(c, rng);
          }
  }
}

TEST_CASE("gemm's tall tiles (a block of 9 to 12 rows in one tile) match gemm_reference, at 1 and 2 threads") {
  // A block of a few more rows than the tile height runs as one tall tile
  // (the output layer's 10 classes): rows read in place or packed into one
  // tall panel, op(B) in place (no wide tiles then) or packed, and Cᵀ's rows
  // when (No,Yes) is computed as the transpose (M > N = 9..12). 13 rows are a
  // tile and a remainder again.
  std::mt19937 rng(1012);
  for (const int threads : {1, 2}) {
    const xg::testing::ScopedThreads scope(threads);
    for (const Trans ta : kTrans)
      for (const Trans tb : kTrans)
        for (const int rows : {9, 10, 11, 12, 13})
          for (const int N : {10, 33, 64, 100})
            for (const int K : {1, 10, 64}) {
              GemmCase c;
              c.ta = ta, c.tb = tb, c.M = rows, c.N = N, c.K = K;
              c.beta = K == 10 ? 1.0f : 0.0f, c.bias = N == 33, c.lda_pad = rows % 3;
              check_case(c, rng);
              if (ta == Trans::No && tb == Trans::Yes) {  // Cᵀ with `rows` rows
                c.M = N + 50, c.N = rows;
                check_case(c, rng);
              }
            }
  }
}

TEST_CASE("gemm (No,Yes) computed as the transpose matches gemm_reference on whole and ragged tiles") {
  // gemm() swaps the operands of x·Wᵀ when the batch is the smaller side, or when
  // C's columns would leave more of the tiles' vector lanes empty than its rows
  // (N = 10 against a batch of 64), and writes the tiles back transposed: 8x8
  // blocks in registers, ragged ones element by element. Every combination of
  // beta, bias, relu and a padded C.
  struct Shape {
    int M, N, K;
  };
  const Shape shapes[] = {{64, 256, 784}, {16, 64, 100}, {13, 70, 33}, {8, 9, 5},   {24, 40, 1},
                          {1, 17, 3},     {40, 41, 0},   {64, 10, 128}, {37, 10, 70}, {20, 17, 9}};
  std::mt19937 rng(99);
  for (const Shape& s : shapes) {
    for (const float beta : {0.0f, 0.5f}) {
      GemmCase c;
      c.ta = Trans::No, c.tb = Trans::Yes, c.M = s.M, c.N = s.N, c.K = s.K;
      c.alpha = 0.75f, c.beta = beta, c.bias = true, c.relu = beta == 0.0f;
      c.ldc_pad = 3, c.lda_pad = 1, c.ldb_pad = 2;
      check_case(c, rng);
      c.bias = false, c.relu = !c.relu, c.ldc_pad = 0;
      check_case(c, rng);
    }
  }
}

TEST_CASE("gemm x·Wᵀ with few output columns gives the same bits as with W stored transposed") {
  // The output layer's forward (N = 10 columns, a batch of rows) is computed as
  // Cᵀ, its vectors along the batch; the same product with W stored (K,N) is
  // computed as C. Each element gets the same products in the same order.
  std::mt19937 rng(5);
  for (const auto& [M, N, K] : {std::tuple{64, 10, 128}, std::tuple{1000, 10, 128}, std::tuple{37, 3, 70}, std::tuple{20, 17, 9}}) {
    CAPTURE(M);
    CAPTURE(N);
    CAPTURE(K);
    const std::vector<float> x = random_floats(std::size_t(M) * K, rng), w = random_floats(std::size_t(N) * K, rng);
    const std::vector<float> bias = random_floats(std::size_t(N), rng);
    std::vector<float> wt(std::size_t(K) * N);
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) wt[std::size_t(k) * N + n] = w[std::size_t(n) * K + k];
    std::vector<float> as_transpose(std::size_t(M) * N), direct(std::size_t(M) * N);
    gemm(Trans::No, Trans::Yes, M, N, K, 1.0f, x.data(), K, w.data(), K, 0.0f, as_transpose.data(), N, {bias.data(), false});
    gemm(Trans::No, Trans::No, M, N, K, 1.0f, x.data(), K, wt.data(), N, 0.0f, direct.data(), N, {bias.data(), false});
    CHECK(std::memcmp(as_transpose.data(), direct.data(), direct.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("gemm_sgd_update_w gives each weight and velocity the optimizer's update from the stored gradient, to the bit") {
  std::mt19937 rng(11);
  const auto fma = [](float a, float b, float c) { return xg::multiply_add(a, b, c); };
  // Plain SGD, weight decay, momentum (its first step and a later one, with
  // dampening), Nesterov: the rules of core/sgd_rule.hpp.
  const xg::SgdStep steps[] = {{0.37f, 0.0f, 0.0f, 0.0f, false, false},   {0.37f, 0.0f, 0.0f, 1e-2f, false, false},
                               {0.1f, 0.9f, 0.0f, 0.0f, false, true},    {0.1f, 0.9f, 0.25f, 1e-3f, false, false},
                               {0.05f, 0.8f, 0.0f, 0.0f, true, false}};
  // Whole and ragged tiles, one and two threads' worth of work.
  for (const auto& [B, N, K] : {std::tuple{32, 12, 16}, std::tuple{64, 256, 784}, std::tuple{7, 10, 33}}) {
    const std::vector<float> dy = random_floats(std::size_t(B) * N, rng), x = random_floats(std::size_t(B) * K, rng);
    const std::vector<float> w0 = random_floats(std::size_t(N) * K, rng), v0 = random_floats(std::size_t(N) * K, rng);
    std::vector<float> g(std::size_t(N) * K);
    xg::gemm_accumulate_dw(B, N, K, dy.data(), x.data(), g.data(), /*add=*/false);
    for (const xg::SgdStep& step : steps) {
      CAPTURE(B);
      CAPTURE(N);
      CAPTURE(K);
      CAPTURE(step.momentum);
      CAPTURE(step.weight_decay);
      CAPTURE(step.nesterov);
      std::vector<float> w = w0, v = v0;
      std::atomic<bool> nonfinite{false};
      {
        const xg::testing::ScopedThreads scope(2);
        REQUIRE(xg::gemm_sgd_update_w(B, N, K, dy.data(), x.data(), step, w.data(), v.data(), &nonfinite));
      }
      CHECK_FALSE(nonfinite.load());
      int differ = 0;
      for (std::size_t i = 0; i < w.size(); ++i) {
        float v_expected = v0[i];
        const float w_expected = xg::sgd_updated(step, g[i], w0[i], &v_expected, fma);
        differ += std::memcmp(&w[i], &w_expected, sizeof(float)) != 0;
        differ += std::memcmp(&v[i], &v_expected, sizeof(float)) != 0;  // without momentum: untouched
      }
      CHECK(differ == 0);
    }
    // A weight that the update carries past the largest float, and a NaN weight: both flagged.
    const std::size_t mid = g.size() / 2;
    REQUIRE(g[mid] != 0.0f);
    for (const bool overflow : {true, false}) {
      CAPTURE(overflow);
      std::vector<float> w = w0;
      w[mid] = overflow ? std::copysign(std::numeric_limits<float>::max(), -g[mid]) : std::nanf("");
      xg::SgdStep step;
      step.lr = overflow ? 1e32f : 0.1f;
      std::atomic<bool> flagged{false};
      REQUIRE(xg::gemm_sgd_update_w(B, N, K, dy.data(), x.data(), step, w.data(), nullptr, &flagged));
      CHECK(flagged.load());
      CHECK_FALSE(std::isfinite(w[mid]));
    }
  }
}

TEST_CASE("gemm_sgd_update_w declines, touching nothing, when the batch is deeper than one K block") {
  const int B = 5000, N = 3, K = 4;  // KC is at most 1024 (core/gemm_blocking.cpp)
  const std::vector<float> dy(std::size_t(B) * N, 1.0f), x(std::size_t(B) * K, 1.0f);
  std::vector<float> w(std::size_t(N) * K, 0.5f);
  std::atomic<bool> nonfinite{false};
  xg::SgdStep step;
  step.lr = 0.1f;
  CHECK_FALSE(xg::gemm_sgd_update_w(B, N, K, dy.data(), x.data(), step, w.data(), nullptr, &nonfinite));
  for (const float v : w) CHECK(v == 0.5f);
}

TEST_CASE("gemm's epilogue flags an inf or NaN it writes, on the plain and the transposed tile paths") {
  std::mt19937 rng(5);
  // (M, N, K): x·Wᵀ with a batch smaller than the layer is computed as the transpose.
  for (const auto& [M, N, K] : {std::tuple{64, 256, 40}, std::tuple{40, 24, 16}}) {
    CAPTURE(M);
    CAPTURE(N);
    std::vector<float> x = random_floats(std::size_t(M) * K, rng);
    const std::vector<float> w = random_floats(std::size_t(N) * K, rng);
    std::vector<float> y(std::size_t(M) * N);
    std::atomic<bool> nonfinite{false};
    Epilogue check;
    check.nonfinite = &nonfinite;
    xg::gemm_xwt(M, N, K, x.data(), w.data(), y.data(), check);
    CHECK_FALSE(nonfinite.load());
    x[std::size_t(M / 2) * K + 3] = std::numeric_limits<float>::infinity();
    xg::gemm_xwt(M, N, K, x.data(), w.data(), y.data(), check);
    CHECK(nonfinite.load());
  }
}

TEST_CASE("gemm_accumulate_dx with a ReLU mask gives relu's backward of the stored dx, bit for bit, at any thread count") {
  // The unfused pair: dx = dy · w stored, then relu's rule g = (x <= 0 ? 0 : dx)
  // (core/ops.cpp). The mask holds zeros, -0, NaN and both signs; shapes cover
  // ragged right edges (K not a multiple of the vector width), a bottom edge
  // (B not a multiple of the tile height), K split into several blocks (N = 1100)
  // and the training shapes.
  struct Shape {
    int B, N, K;
  };
  const Shape shapes[] = {{64, 128, 256}, {64, 10, 128}, {13, 37, 29}, {7, 1100, 70}, {64, 256, 784}};
  std::mt19937 rng(4242);
  for (const Shape& s : shapes) {
    CAPTURE(s.B);
    CAPTURE(s.N);
    CAPTURE(s.K);
    const std::vector<float> dy = random_floats(std::size_t(s.B) * s.N, rng);
    const std::vector<float> w = random_floats(std::size_t(s.N) * s.K, rng);
    std::vector<float> x = random_floats(std::size_t(s.B) * s.K, rng);
    for (std::size_t i = 0; i < x.size(); i += 7) x[i] = 0.0f;
    for (std::size_t i = 3; i < x.size(); i += 11) x[i] = -0.0f;
    for (std::size_t i = 5; i < x.size(); i += 13) x[i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> expected(x.size());
    {
      const xg::testing::ScopedThreads scope(1);
      xg::gemm_accumulate_dx(s.B, s.N, s.K, dy.data(), w.data(), expected.data(), false);
    }
    for (std::size_t i = 0; i < x.size(); ++i) expected[i] = x[i] <= 0.0f ? 0.0f : expected[i];
    for (int threads = 1; threads <= 4; ++threads) {
      CAPTURE(threads);
      const xg::testing::ScopedThreads scope(threads);
      std::vector<float> du(x.size(), std::numeric_limits<float>::quiet_NaN());  // overwritten, never read
      xg::gemm_accumulate_dx(s.B, s.N, s.K, dy.data(), w.data(), du.data(), false, x.data());
      CHECK(std::memcmp(du.data(), expected.data(), du.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("gemm_reference applies the ReLU mask as gemm does") {
  std::mt19937 rng(7);
  const int M = 9, N = 21, K = 5;
  const std::vector<float> A = random_floats(std::size_t(M) * K, rng), B = random_floats(std::size_t(K) * N, rng);
  std::vector<float> mask = random_floats(std::size_t(M) * N, rng);
  mask[4] = std::numeric_limits<float>::quiet_NaN();
  mask[5] = 0.0f;
  Epilogue epi;
  epi.relu_mask = mask.data();
  std::vector<float> fast(std::size_t(M) * N), ref(fast.size());
  gemm(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, fast.data(), N, epi);
  gemm_reference(Trans::No, Trans::No, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, ref.data(), N, epi);
  for (std::size_t i = 0; i < fast.size(); ++i) {
    CAPTURE(i);
    if (mask[i] <= 0.0f) {
      CHECK(fast[i] == 0.0f);
      CHECK(ref[i] == 0.0f);
    } else {
      CHECK(fast[i] != 0.0f);
      CHECK(std::abs(fast[i] - ref[i]) <= 1e-5f);
    }
  }
}
