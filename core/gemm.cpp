#include "core/gemm.hpp"
#include "core/gemm_blocking.hpp"
#include "core/parallel.hpp"

// The fast float32 GEMM, BLIS-style: pack, block for the caches, and spend the
// time in one small register-blocked micro-kernel.
//
//   C (M,N) = alpha * op(A) (M,K) · op(B) (K,N) + beta * C,  then bias, relu
//
// Five loops around the micro-kernel (W is the SIMD width in floats, MR x NR
// the register tile, NR = 2W; KC, MC, NC come from the caches the CPU reports,
// core/gemm_blocking.hpp):
//
//   for jc in N step NC          B block  (KC x NC)  lives in L3
//     for pc in K step KC        the ONLY loop over K; always runs in order
//       pack op(B)[pc:+KC, jc:+NC]  ->  Bp, as NR-wide column panels
//         (only B stored (N,K); B stored (K,N) is read in place, below)
//       for ic in M step MC      A block  (MC x KC)  lives in L2
//         pack op(A)[ic:+MC, pc:+KC] -> Ap, as MR-tall row panels
//           (only A stored (K,M); A stored (M,K) is read in place, below)
//         for jr in NC step NR   one B panel (KC x NR) stays in L1 ...
//           for ir in MC step MR ... while the A panels stream past it
//             (A read in place streams its rows from L2: then KC is deeper,
//             KC_in_place, and the B panel streams from L2 too)
//             micro-kernel: C[ir:+MR, jr:+NR] (+)= Ap panel · Bp panel
//
//                  op(B) block, packed           C tile written by one call
//                 jr                             of the micro-kernel
//            +----+----+----+--            +----+----+----+--
//         k  |    |    |    |              |    |    |    |
//         |  | Bp | Bp | Bp | ...  KC      |    |    |    |
//         v  |    |    |    |              +----+----+----+--
//            +----+----+----+--            |    | MR |    |
//              NR  (k-major: NR floats     |    | xNR|    |
//                   per k, contiguous)     +----+----+----+--
//
//      op(A) block, packed                 Each packed panel is read front to
//        k ->                              back, one k at a time:
//   ir +------------------+  MR              acc[i][j] += Ap[k][i] * Bp[k][j]
//      |  Ap (MR floats   |                for MR x NR accumulators held in
//      +------------------+  per k)        registers (MR broadcasts of A times
//      |  Ap              |                NR/W vector loads of B per k).
//      +------------------+
//             KC
//
// Packing is where the three layouts meet: op(B) stored (N,K) (Trans::Yes) is
// transposed 8x8 at a time in registers into the panel format; op(B) stored (K,N)
// (Trans::No) already has each k's NR columns side by side and is read in place
// (only a ragged last panel is copied, zero-padded), so one kernel serves (No,Yes)
// forward, (No,No) input grad and (Yes,No) weight grad without ever
// materialising a transpose. op(A) stored (K,M) (the weight gradient's dy)
// is copied into Ap panels; op(A) stored (M,K) (x, dy) is not packed at all: the
// kernel broadcasts straight from its MR rows, which touches the same cache lines
// a packed panel would and saves a transposing pass over A per call. When both
// operands have k along their stored rows (No,Yes) and M < N (the forward, batch
// smaller than the layer), gemm() computes Cᵀ = op(B)ᵀ·op(A)ᵀ so that the weight
// is the one read in place and only the batch is transposed into panels; those
// tiles go back to C transposed (8x8 in registers where AVX exists).

// Wide tiles: where op(B) is read in place its columns need no panels, and the
// kernel takes NVW vectors of them instead of NV when the registers hold that many
// accumulators (8x48 with AVX-512): more FMAs per load.
//
// Edges (M, N, K not multiples of the block sizes): the micro-kernel exists in
// smaller instances, mr = 1..MR rows and one or two vectors wide, picked per tile
// so edge tiles (N = 10, M = 1) do not compute padding; a ragged right edge goes
// through a small buffer so the kernel never writes outside C. A block of a few
// more rows than MR (10 classes) runs as one tall tile (MRT) instead of a tile
// and a thin remainder.
//
// Determinism: every element of C is summed k = 0, 1, ..., K-1 by one FMA
// chain per KC block, and the KC blocks are added into C in order. The KC blocks
// depend only on K, whether A is read in place, and the cache sizes the CPU
// reports (never on a timing). Threads split C into column (or row) ranges and
// never split K, so the result is bit-identical for any number of threads.
//
// Threads: as many as OpenMP is set to use (omp_set_num_threads, `--threads`),
// only when M*N*K is large enough to pay for waking a second thread (small GEMMs
// run faster on one), through parallel_chunks (core/parallel.hpp) rather than an
// OpenMP region, whose closing barrier waits for a thread the OS has not
// scheduled. Pack buffers are grown to the largest size needed and reused: one
// pair per thread for serial calls, one per chunk index for pooled ones.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include <omp.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif
#include <xsimd/xsimd.hpp>

namespace xg {
namespace {

using Batch = xsimd::batch<float>;

// ---- Kernel shape and block sizes ------------------------------------------------
// The tile follows the SIMD width and register count the compiler targets; the
// cache blocks follow the caches the CPU reports at run time (gemm_blocking.hpp).
constexpr int W = int(Batch::size);  // floats per SIMD register: 16 AVX-512, 8 AVX, 4 SSE
#if defined(__AVX512F__) || defined(__aarch64__)
constexpr int kVectorRegisters = 32;
#else
constexpr int kVectorRegisters = 16;  // x86-64 without AVX-512
#endif
constexpr int NV = 2;                // vectors across the tile
constexpr int NR = NV * W;           // tile width (columns of C)
// Tile height: MR x NV accumulators + NV B vectors + 1 broadcast must fit in the
// register file: 6 rows with 16 registers. With 32 there is room for 14, but 8
// already gives 1.6 FMAs per load and keeps a batch of 64 rows in whole tiles.
constexpr int MR = std::min(8, (kVectorRegisters - NV - 1) / NV);
static_assert(MR >= 1, "the register file must hold at least one row of the tile");
// The wide tile, for op(B) read in place (its columns need no panels): MR rows and
// as many vectors as fit with their accumulators, the B vectors and a broadcast:
// 3 with 32 registers (24 accumulators, 11 loads per 24 FMAs against 10 per 16;
// measured: the first layer's weight gradient 4% faster, docs/PERFORMANCE.md,
// twelfth round). None with 16 registers.
constexpr int NVW = (kVectorRegisters - 1) / (MR + 1) > NV ? (kVectorRegisters - 1) / (MR + 1) : 0;
// The tall tile, for a block of few rows (the output layer's 10 classes): all of
// them in one tile of at most NV vectors, instead of a tile of MR rows and one of
// the rest, whose few accumulators leave each FMA waiting on the one before (a
// 2-row tile: 4 chains of 4-cycle FMAs). Up to 12 rows where the registers hold
// them (24 accumulators with 32 registers); none with 16 (MRT = MR).
constexpr int MRT = std::max(MR, std::min(12, (kVectorRegisters - NV - 1) / NV));
// A block of mc rows is computed as one tall tile.
bool tall_block(int mc) { return mc > MR && mc <= MRT; }

// KC, MC, NC for this machine, computed once (a pure function of the reported
// cache sizes, so the same on every thread and every call).
const GemmBlocking& blocks() {
  static const GemmBlocking b = gemm_blocking(cpu_cache_sizes(), MR, NR);
  return b;
}

// Below this many multiply-adds one thread is faster than two.
constexpr long long kParallelMinWork = 1LL << 20;
// At most this many chunks of columns per thread (gemm()).
constexpr int kChunksPerThread = 4;

// ---- Pack buffers ---------------------------------------------------------------
// A pair (A and B) per thread and per pooled chunk, 64-byte aligned, grown to the
// largest size needed and then reused (steady-state training does not allocate).
class PackBuffer {
 public:
  float* get(std::size_t floats) {
    if (floats > capacity_) {
      storage_.reset(new float[floats + 16]);
      capacity_ = floats;
    }
    const auto base = reinterpret_cast<std::uintptr_t>(storage_.get());
    return reinterpret_cast<float*>((base + 63) & ~std::uintptr_t(63));
  }

 private:
  std::unique_ptr<float[]> storage_;
  std::size_t capacity_ = 0;
};

struct PackBuffers {
  PackBuffer a;  // up to MC x KC
  PackBuffer b;  // up to KC x NC
  // The block of op(B) that b holds: gemm() call, first column, first k, columns.
  // A chunk of rows that finds its block there (the same call's earlier chunk on
  // this thread packed it) does not pack it again.
  std::uint64_t b_call = 0;
  int b_jc = -1, b_pc = -1, b_nc = -1;
};

PackBuffers& thread_pack_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// Chunk c of a pooled parallel call packs into chunk_pack_buffers(c), whichever
// thread claims it: a worker the OS schedules late in the first steps would
// otherwise grow its own buffers in a later step (steady state must not
// allocate). Only one pooled call runs at a time (core/parallel.hpp).
constexpr int kPooledChunkBuffers = 64;
PackBuffers& chunk_pack_buffers(int c) {
  static std::array<PackBuffers, kPooledChunkBuffers> buffers;
  return buffers[std::size_t(c)];
}

// The buffers of a GEMM that runs on the calling thread alone: those of the
// pooled chunk it is called from (a conv's loop over images), for the same
// reason, else this thread's.
PackBuffers& serial_pack_buffers() {
  const int c = current_pooled_chunk();
  return c >= 0 && c < kPooledChunkBuffers ? chunk_pack_buffers(c) : thread_pack_buffers();
}

// op(B)'s packed blocks of a pooled call, one buffer per pool thread (gemm() sizes
// them before the call, so a worker never allocates): each thread packs a block
// once and every chunk of rows it runs reads it.
PackBuffers& pool_thread_b_buffers(int t) {
  static std::array<PackBuffers, kPooledChunkBuffers> buffers;
  return buffers[std::size_t(t)];
}

// Numbers each gemm() call, for PackBuffers::b_call.
std::uint64_t next_gemm_call() {
  static std::atomic<std::uint64_t> calls{0};
  return ++calls;
}

// ---- Packing ----------------------------------------------------------------------
// A panel of width PW (MR for A, NR for B) holds, for each k, PW consecutive values
// (rows of op(A) or columns of op(B)). Past the matrix edge it is zero-padded as far
// as the edge kernel reads: B to whole vectors, A not at all (an edge kernel with
// mr rows reads only mr values per k).

// dst[k*width + j] = src[k*lds + j]: the operand is already laid out by k (op(A) for
// Trans::Yes, op(B) for Trans::No), so each k is a short contiguous copy.
void pack_copy(const float* src, int lds, int cols, int kc, int width, int pad_to, float* dst) {
  for (int k = 0; k < kc; ++k, dst += width) {
    const float* s = src + std::size_t(k) * lds;
    int j = 0;
    for (; j + W <= cols; j += W) Batch::load_unaligned(s + j).store_unaligned(dst + j);
    for (; j < cols; ++j) dst[j] = s[j];
    for (; j < pad_to; ++j) dst[j] = 0.0f;
  }
}

#if defined(__AVX__)
// dst[c*ldd + r] = src[r*lds + c] for an 8x8 block: the textbook AVX transpose
// (unpack pairs of rows, shuffle pairs of pairs, swap 128-bit halves).
inline void transpose8x8(const float* src, int lds, float* dst, int ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + std::size_t(i) * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + std::size_t(i) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + std::size_t(i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

#if defined(__AVX512F__)
// (GCC 12 warns that its own AVX-512 shuffles read an undefined source vector: GCC bug 105593.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// dst[c*ldd + r] = src[r*lds + c] for a 16x16 block, in four rounds of 16
// shuffles (a quarter of a shuffle per float; the 8x8 AVX transpose needs 3/8):
// unpack pairs of rows (floats), then pairs of pairs (doubles): vector 4b+q then
// holds, in its 128-bit lane L, rows 4b..4b+3 at column 4L+q; two rounds of
// 128-bit lane shuffles gather each column's four lanes.
inline void transpose16x16(const float* src, int lds, float* dst, int ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + std::size_t(i) * lds);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  const auto pd = [](__m512 x) { return _mm512_castps_pd(x); };
  for (int b = 0; b < 16; b += 4) {
    r[b] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(t[b]), pd(t[b + 2])));
    r[b + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(t[b]), pd(t[b + 2])));
    r[b + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(t[b + 1]), pd(t[b + 3])));
    r[b + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(t[b + 1]), pd(t[b + 3])));
  }
  for (int q = 0; q < 4; ++q) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x44), v1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x44), v3 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xEE);
    _mm512_storeu_ps(dst + std::size_t(q) * ldd, _mm512_shuffle_f32x4(v0, v2, 0x88));
    _mm512_storeu_ps(dst + std::size_t(4 + q) * ldd, _mm512_shuffle_f32x4(v0, v2, 0xDD));
    _mm512_storeu_ps(dst + std::size_t(8 + q) * ldd, _mm512_shuffle_f32x4(v1, v3, 0x88));
    _mm512_storeu_ps(dst + std::size_t(12 + q) * ldd, _mm512_shuffle_f32x4(v1, v3, 0xDD));
  }
}
#pragma GCC diagnostic pop
#endif

// A block reads a piece of each of its rows, lds apart; as it enters a new line
// of its rows (every 16 floats), each row's line 4 ahead is asked for. With two
// threads x was written by the other core and each line is a long wait
// (measured: 1% of an epoch with two threads, nothing with one;
// docs/PERFORMANCE.md, tenth and twenty-first rounds). A hint: no value changes.
// Always inlined: GCC takes a function that does nothing but prefetch for one
// without effects (const) and deletes the calls to it, before inlining; as a
// plain inline function this one was not in the binary (tests/check_prefetch.py).
__attribute__((always_inline)) inline void prefetch_rows_ahead(const float* src, int lds, int rows, int k0, int kc) {
  constexpr int kAhead = 64;  // floats: 4 cache lines
  if (k0 % 16 == 0 && k0 + kAhead < kc)
    for (int r = 0; r < rows; ++r) __builtin_prefetch(src + std::size_t(r) * lds + k0 + kAhead);
}

// The part rows [j0, j1) x k [k0, k1) of pack_transposed below: 8x8 register
// transposes where AVX exists, one float at a time at the edges.
void transpose_part(const float* src, int lds, int j0, int j1, int k0, int k1, int width, float* dst) {
  int j_scalar = j0;
#if defined(__AVX__)
  // k-blocks outermost: each block writes whole rows of the panel (width floats) while
  // its cache lines are in L1 (one block per 8 rows would write each line of the
  // panel in halves, the second half after the line has left L1).
  const int whole = j0 + (j1 - j0) / 8 * 8;
  int k = k0;
  for (; k + 8 <= k1; k += 8)
    for (int j = j0; j < whole; j += 8) {
      prefetch_rows_ahead(src + std::size_t(j) * lds, lds, 8, k, k1);
      transpose8x8(src + std::size_t(j) * lds + k, lds, dst + std::size_t(k) * width + j, width);
    }
  for (; k < k1; ++k)
    for (int j = j0; j < whole; ++j) dst[std::size_t(k) * width + j] = src[std::size_t(j) * lds + k];
  j_scalar = whole;
#endif
  for (int j = j_scalar; j < j1; ++j)
    for (int kk = k0; kk < k1; ++kk) dst[std::size_t(kk) * width + j] = src[std::size_t(j) * lds + kk];
}

// dst[k*width + j] = src[j*lds + k]: the operand is laid out by row/column and k runs
// along the stored rows (op(A) for Trans::No, op(B) for Trans::Yes), so packing is a
// transpose. At batch 64 the forward pass packs as many floats as it multiplies
// per row of x, so this must be fast: 16x16 register transposes with AVX-512
// (measured: docs/PERFORMANCE.md, thirteenth round), 8x8 with AVX, k-blocks
// outermost (see transpose_part).
void pack_transposed(const float* src, int lds, int rows, int kc, int width, int pad_to, float* dst) {
  int rows16 = 0, kc16 = 0;  // the part done in 16x16 blocks
#if defined(__AVX512F__)
  rows16 = rows / 16 * 16, kc16 = kc / 16 * 16;
  for (int k0 = 0; k0 < kc16; k0 += 16)
    for (int j = 0; j < rows16; j += 16) {
      prefetch_rows_ahead(src + std::size_t(j) * lds, lds, 16, k0, kc);
      transpose16x16(src + std::size_t(j) * lds + k0, lds, dst + std::size_t(k0) * width + j, width);
    }
#endif
  transpose_part(src, lds, 0, rows16, kc16, kc, width, dst);  // the last k of the 16-row blocks
  transpose_part(src, lds, rows16, rows, 0, kc, width, dst);  // the rows left
  for (int k = 0; k < kc; ++k)
    for (int j = rows; j < pad_to; ++j) dst[std::size_t(k) * width + j] = 0.0f;
}

// op(A)[0:mc, 0:kc] -> ceil(mc/MR) panels of MR rows, each kc x MR (or one panel
// of all mc rows for a tall tile), for A stored (K,M) (Trans::Yes):
// op(A)[i][k] = A[k*lda + i]. (A stored (M,K) is read in place, a_reader.)
int a_panel_width(int mc) { return tall_block(mc) ? mc : MR; }
void pack_a(const float* A, int lda, int mc, int kc, float* dst) {
  const int width = a_panel_width(mc);
  for (int i0 = 0; i0 < mc; i0 += width, dst += width * kc) {
    const int mr = std::min(width, mc - i0);
    pack_copy(A + i0, lda, mr, kc, width, mr, dst);
  }
}

// The first n < W floats at p as a vector, the rest 0, and its store: masked
// where the ISA has masks, through a buffer elsewhere. Never touch a float past n.
inline Batch load_first(const float* p, int n) {
#if defined(__AVX512F__)
  return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p);
#else
  alignas(64) float buffer[W] = {};
  std::copy_n(p, n, buffer);
  return Batch::load_aligned(buffer);
#endif
}
inline void store_first(const Batch& v, float* p, int n) {
#if defined(__AVX512F__)
  _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1), v);
#else
  alignas(64) float buffer[W];
  v.store_aligned(buffer);
  std::copy_n(buffer, n, p);
#endif
}

// row_sums[i] = Σ_k op(A)[i][k] = Σ_k A[k*lda + i], k in order from 0, for
// i < mc (Epilogue::a_row_sums): op(A)'s rows are A's columns. Each sum is its own
// chain in order (0 + A[0][i] + A[1][i] + ...). Four vectors of sums stay in
// registers while k runs: four chains side by side (one alone would wait on each
// add in turn), and no sum goes through memory between two adds (a store and a
// load per add: a third of the output layer's weight gradient, whose 10 sums
// are not a whole vector; docs/PERFORMANCE.md, thirteenth round).
void a_row_sums(const float* A, int lda, int mc, int kc, float* row_sums) {
  constexpr int kVectors = 4;
  for (int i0 = 0; i0 < mc; i0 += kVectors * W) {
    const int n = std::min(kVectors * W, mc - i0);  // sums in this block
    Batch sum[kVectors];
    for (Batch& v : sum) v = Batch(0.0f);
    for (int k = 0; k < kc; ++k) {
      const float* a = A + std::size_t(k) * lda + i0;
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v) {
        const int left = n - v * W;
        if (left >= W)
          sum[v] += Batch::load_unaligned(a + v * W);
        else if (left > 0)
          sum[v] += load_first(a + v * W, left);
      }
    }
    for (int v = 0; v < kVectors; ++v) {
      const int left = n - v * W;
      if (left >= W)
        sum[v].store_unaligned(row_sums + i0 + v * W);
      else if (left > 0)
        store_first(sum[v], row_sums + i0 + v * W, left);
    }
  }
}

// op(B)[0:kc, 0:nc] -> ceil(nc/NR) panels of NR columns, each kc x NR.
// B points at op(B)[0][0]; op(B)[k][j] = B[k*ldb + j] (No) or B[j*ldb + k] (Yes).
void pack_b(Trans tb, const float* B, int ldb, int kc, int nc, float* dst) {
  for (int j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    const int nr = std::min(NR, nc - j0);
    const int pad_to = std::min(NR, (nr + W - 1) / W * W);
    if (tb == Trans::No)
      pack_copy(B + j0, ldb, nr, kc, NR, pad_to, dst);
    else
      pack_transposed(B + std::size_t(j0) * ldb, ldb, nr, kc, NR, pad_to, dst);
  }
}

// ---- Micro-kernel -------------------------------------------------------------------
// How a finished tile is written to C. For the first KC block: C = alpha*acc + beta*C
// (C not read when beta == 0); later KC blocks use beta = 1 to add on. The bias and
// relu of the epilogue are applied only after the last KC block.
struct TileUpdate {
  float alpha;
  float beta;
  const float* bias;  // this tile's columns of the bias, or null
  bool relu;
  const float* row_bias = nullptr;  // or one bias per row of the tile (a transposed C)
  bool transposed = false;          // the tile is of Cᵀ: element (i, j) lives at C[j*ldc + i]
  bool* nonfinite = nullptr;        // set when an element written is inf or NaN (the last KC block only)
  const float* relu_mask = nullptr;  // Epilogue::relu_mask at this tile (row stride ldc; the last KC block only)
  float* relu_copy = nullptr;        // Epilogue::relu_copy at this tile (laid out as C; the last KC block only)
  // Epilogue::sgd: C holds weights, the tile's sums are their gradients; velocity
  // points at the tile's velocities, laid out as C (or null without momentum).
  const SgdStep* sgd = nullptr;
  float* velocity = nullptr;
};

// a * b + c rounded once where the CPU has FMA, else a * b rounded first: the
// SIMD twin of multiply_add(float, float, float) (core/sgd_rule.hpp), so that the
// update made here rounds as the optimizer's. Explicit: a compiler may fuse
// a * b + c or not (xsimd::fma on AVX-512 is a multiply and an add it may fuse).
inline Batch multiply_add(const Batch& a, const Batch& b, const Batch& c) {
#if defined(__AVX512F__)
  static_assert(W == 16, "AVX-512 batches");
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__AVX2__) && defined(__FMA__)
  static_assert(W == 8, "AVX batches");
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}

// relu's forward rule (core/ops.cpp), for the epilogue's relu and relu_copy:
// x < 0 ? 0 : x, so a NaN and -0 pass unchanged. One vector of the tile, and
// eight floats of the transposed tile's rows (micro_kernel).
inline Batch relu_batch(const Batch& r) { return xsimd::select(r < Batch(0.0f), Batch(0.0f), r); }
// relu's backward rule (relu_backward_block, core/ops.cpp) for the epilogue's
// relu_mask: the gradient r becomes 0 where relu's output x (the vector at x) is
// <= 0, and passes elsewhere, a NaN x included.
inline Batch relu_masked(const Batch& r, const float* x) {
  return xsimd::select(Batch::load_unaligned(x) <= Batch(0.0f), Batch(0.0f), r);
}
#if defined(__AVX__)
inline __m256 relu_m256(__m256 r) {
  const __m256 zero = _mm256_setzero_ps();
  return _mm256_blendv_ps(r, zero, _mm256_cmp_ps(r, zero, _CMP_LT_OQ));
}
#endif

// w - w is +0 for a finite w and NaN for inf or NaN; a sum of such differences
// is NaN once one element of the sum was not finite. The epilogues add them up
// as they store, one add per vector, and test the sums once per tile (a compare,
// a mask and a branch per vector cost as much as the update itself). Four sums,
// vector n of the tile going to sum n % 4: one sum would chain a tile's 16 adds
// one after the other, 64 cycles of latency at the end of every tile (measured:
// 2% of the weight gradient's GEMM, docs/PERFORMANCE.md, eleventh round).
class FiniteCheck {
 public:
  void add(int n, const Batch& r) { sums_[n % 4] += r - r; }
  bool any_nonfinite() const { return xsimd::any(xsimd::isnan((sums_[0] + sums_[1]) + (sums_[2] + sums_[3]))); }

 private:
  Batch sums_[4] = {Batch(0.0f), Batch(0.0f), Batch(0.0f), Batch(0.0f)};
};

// The epilogues below are inlined into the micro-kernel whatever the compiler's
// size heuristics say: called, they take the accumulators by reference, so the
// kernel stores all MRt x NVt registers to the stack and the epilogue loads them
// back, after spilling its own addresses (measured: about 1% of an epoch,
// docs/PERFORMANCE.md, tenth round). A hint about speed only: no value changes.
#if defined(__GNUC__)
#define XG_INLINE_EPILOGUE __attribute__((always_inline)) inline
#else
#define XG_INLINE_EPILOGUE inline
#endif

// Epilogue::sgd: the weights in C (MRt, NVt*W) (and their velocities, laid out
// alike) get SGD's update, the accumulators (times alpha) being their gradients.
// (Momentum false: the step has none, and the compiler drops its branches.)
template <bool Momentum, int MRt, int NVt>
XG_INLINE_EPILOGUE void update_tile(const Batch (&acc)[MRt][NVt], float* C, int ldc, const TileUpdate& u) {
  SgdStep s = *u.sgd;  // a local copy: the stores below cannot change it
  if (!Momentum) s.momentum = 0.0f;
  const Batch alpha(u.alpha);
  const auto fma = [](const Batch& a, const Batch& b, const Batch& c) { return multiply_add(a, b, c); };
  FiniteCheck finite_check;  // Σ (w - w)
#pragma GCC unroll 16
  for (int i = 0; i < MRt; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) {
      float* c = C + std::size_t(i) * ldc + v * W;
      float* vel = Momentum && u.velocity ? u.velocity + std::size_t(i) * ldc + v * W : nullptr;
      Batch velocity = vel && !s.first ? Batch::load_unaligned(vel) : Batch(0.0f);
      const Batch w = sgd_updated(s, alpha * acc[i][v], Batch::load_unaligned(c), &velocity, fma);
      finite_check.add(i * NVt + v, w);
      w.store_unaligned(c);
      if (vel) velocity.store_unaligned(vel);
    }
  }
  if (u.nonfinite && finite_check.any_nonfinite()) *u.nonfinite = true;
}

// alpha·sum + beta·C for one vector of the tile, whose place in C is c (C is not
// read unless add). The sum is passed by value (measured: a lambda capturing
// the accumulators by reference made every GEMM 3-10% slower).
XG_INLINE_EPILOGUE Batch scaled_sum(Batch sum, const Batch& alpha, const Batch& beta, bool add, const float* c) {
  const Batch r = alpha * sum;
  return add ? xsimd::fma(beta, Batch::load_unaligned(c), r) : r;
}

// C (MRt, NVt*W) with row stride ldc (the whole tile inside C) from the accumulators.
template <int MRt, int NVt>
XG_INLINE_EPILOGUE void write_tile(const Batch (&acc)[MRt][NVt], float* C, int ldc, const TileUpdate& u) {
  if (u.sgd) {
    if (u.sgd->momentum != 0.0f)
      update_tile<true>(acc, C, ldc, u);
    else
      update_tile<false>(acc, C, ldc, u);
    return;
  }
  const Batch alpha(u.alpha), beta(u.beta);
  const bool add = u.beta != 0.0f;
  // The sums times alpha, plus beta·C, masked by the input gradient's ReLU
  // (Epilogue::relu_mask): what the backward pass's GEMMs ask for. Their short K
  // (10 at the output layer) leaves the epilogue as much work as the sums, and
  // the general loop below tests each of its options for every vector
  // (measured: the output layer's input gradient 2.6 -> 2.1 µs, docs/PERFORMANCE.md,
  // twelfth round). The same operations in the same order.
  if (!u.bias && !u.row_bias && !u.relu && !u.nonfinite && !u.relu_copy) {
    const float* mask = u.relu_mask;
#pragma GCC unroll 16
    for (int i = 0; i < MRt; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) {
        float* c = C + std::size_t(i) * ldc + v * W;
        Batch r = scaled_sum(acc[i][v], alpha, beta, add, c);
        if (mask) r = relu_masked(r, mask + std::size_t(i) * ldc + v * W);
        r.store_unaligned(c);
      }
    }
    return;
  }
  FiniteCheck finite_check;  // Σ (r - r)
#pragma GCC unroll 16
  for (int i = 0; i < MRt; ++i) {
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) {
      float* c = C + std::size_t(i) * ldc + v * W;
      Batch r = scaled_sum(acc[i][v], alpha, beta, add, c);
      if (u.bias) r += Batch::load_unaligned(u.bias + v * W);
      if (u.row_bias) r += Batch(u.row_bias[i]);
      if (u.relu) r = relu_batch(r);
      if (u.relu_mask) r = relu_masked(r, u.relu_mask + std::size_t(i) * ldc + v * W);
      if (u.nonfinite) finite_check.add(i * NVt + v, r);
      r.store_unaligned(c);
      if (u.relu_copy) relu_batch(r).store_unaligned(u.relu_copy + std::size_t(i) * ldc + v * W);
    }
  }
  if (u.nonfinite && finite_check.any_nonfinite()) *u.nonfinite = true;
}

// Asks for the cache lines of a tile of C (rows x cols, row stride ldc) and of its
// velocities (laid out as C, or null), for writing. Not inlined, on purpose: inlined,
// the compiler kept the 24 addresses it computed here for the tile's stores at the
// end, spilled across the k loop, and reloaded them (measured: layer 2's GEMMs
// 2-3% slower; docs/PERFORMANCE.md, thirteenth round). noipa, not just noinline:
// GCC takes a function that does nothing but prefetch for one without effects
// (const) and deletes the calls to it; with noinline alone this helper and its
// calls were not in the binary (docs/PERFORMANCE.md, twenty-first round;
// tests/check_prefetch.py). Clang keeps the calls; it has no noipa.
#if defined(__clang__)
__attribute__((noinline))
#else
__attribute__((noipa))
#endif
void prefetch_tile(const float* C, const float* velocity, int ldc, int rows, int cols) {
  constexpr std::uintptr_t kLine = 64;  // bytes per cache line on every CPU we build for
  const auto lines = [](const float* p, int n) {  // each line that holds one of p[0..n)
    const std::uintptr_t last = reinterpret_cast<std::uintptr_t>(p + n - 1);
    for (std::uintptr_t line = reinterpret_cast<std::uintptr_t>(p) & ~(kLine - 1); line <= last; line += kLine)
      __builtin_prefetch(reinterpret_cast<const void*>(line), 1);
  };
  for (int i = 0; i < rows; ++i) {
    lines(C + std::size_t(i) * ldc, cols);
    if (velocity) lines(velocity + std::size_t(i) * ldc, cols);
  }
}

// How the micro-kernel finds op(A)[i][k] of its tile, i < MRt, k < kc:
//   KMajor: a[k*step + i]   the MR values of one k side by side: a packed panel
//                           (step MR) or op(A) stored (K,M) read in place (step lda)
//   RowMajor: a[i*step + k] op(A) stored (M,K) read in place (step lda): each k
//                           broadcasts from MRt rows, each row read front to back
// The arithmetic is the same either way; only where the values come from differs.
enum class ALayout { KMajor, RowMajor };

// C[0:MRt, 0:nr] (+)= op(A) tile (MRt x kc) · B panel (kc x NR), then the update.
// Row k of the B panel (NVt*W floats) starts at bp + k*b_step: b_step = NR for a
// packed panel, ldb for op(B) stored (K,N) read in place.
// MRt <= MR rows and NVt <= NV vectors are computed: the full tile is MRt = MR,
// NVt = NV; smaller instances serve the bottom and right edges without wasting
// work on padding (and larger ones the wide tile, NVW vectors, and the tall one,
// up to MRT rows). nr <= NVt*W columns are stored.
template <int MRt, int NVt, ALayout AL>
void micro_kernel(int kc, const float* __restrict a, int a_step, const float* __restrict bp, int b_step, float* C,
                  int ldc, int nr, const TileUpdate& u) {
  Batch acc[MRt][NVt];
#pragma GCC unroll 16
  for (int i = 0; i < MRt; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) acc[i][v] = Batch(0.0f);

  // C's lines (and the velocities', laid out alike) are fetched while the sums
  // run, so the update below finds them in L1 (an SGD update or beta != 0 reads
  // C; a store fetches its line first too; measured in docs/PERFORMANCE.md, eighth
  // round). A hint: it changes no value. A transposed tile's C is nr short pieces
  // of lines: no gain measured, left out. Nor when K is short (10 at the output
  // layer's input gradient): the sums end before a line could arrive, and the
  // prefetches only take load slots (that GEMM 0.93 of its time without them,
  // docs/PERFORMANCE.md, thirteenth round).
  constexpr int kPrefetchMinK = 32;
  if (!u.transposed && kc >= kPrefetchMinK) prefetch_tile(C, u.velocity, ldc, MRt, NVt * W);
  const float* rows[MRt];  // RowMajor: the tile's rows of op(A)
#pragma GCC unroll 16
  for (int i = 0; i < MRt; ++i) rows[i] = a + std::size_t(i) * a_step;
  // Four k per pass of the loop: each k's NV + MR loads and MR·NV FMAs otherwise
  // carry 4 bookkeeping instructions (pointer steps, counter, branch) that take
  // issue slots from the FMAs (measured against 2 and 1 per pass: 1-3% of an
  // epoch, up to 6% in the host's slow spells; 8 per pass gains nothing more;
  // docs/PERFORMANCE.md, tenth round). Each accumulator still sums its k in
  // order: the same values.
#pragma GCC unroll 4
  for (int k = 0; k < kc; ++k, bp += b_step) {
    Batch b[NVt];
#pragma GCC unroll 4
    for (int v = 0; v < NVt; ++v) b[v] = Batch::load_unaligned(bp + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MRt; ++i) {
      const Batch av(AL == ALayout::KMajor ? a[i] : rows[i][k]);
#pragma GCC unroll 4
      for (int v = 0; v < NVt; ++v) acc[i][v] = xsimd::fma(av, b[v], acc[i][v]);
    }
    if (AL == ALayout::KMajor) a += a_step;
  }

  constexpr int TW = NVt * W;
  if (u.transposed) {
    // A tile of Cᵀ (gemm() swapped the operands): element (i, j) of the tile is
    // C[j*ldc + i], and the bias is per row of the tile.
#if defined(__AVX__) && defined(__FMA__)
    if (MRt == 8 && nr % 8 == 0) {
      alignas(64) float tile[MRt * TW];  // every element is stored before it is read
      // Whole 8x8 blocks: transpose the raw sums in registers, then run the update
      // on 8 consecutive elements of a row of C at a time (the same operations,
      // element by element, as write_tile).
#pragma GCC unroll 16
      for (int i = 0; i < MRt; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NVt; ++v) acc[i][v].store_aligned(tile + i * TW + v * W);
      const __m256 alpha = _mm256_set1_ps(u.alpha), beta = _mm256_set1_ps(u.beta), zero = _mm256_setzero_ps();
      const __m256 bias = u.row_bias ? _mm256_loadu_ps(u.row_bias) : zero;
      __m256 finite_check = zero;  // Σ (r - r), as in write_tile (FiniteCheck; not on a hot path: only SGD updates check)
      alignas(32) float block[64];
      for (int j0 = 0; j0 < nr; j0 += 8) {
        transpose8x8(tile + j0, TW, block, 8);
        for (int j = 0; j < 8; ++j) {
          float* c = C + std::size_t(j0 + j) * ldc;
          __m256 r = _mm256_mul_ps(alpha, _mm256_load_ps(block + 8 * j));
          if (u.beta != 0.0f) r = _mm256_fmadd_ps(beta, _mm256_loadu_ps(c), r);
          if (u.row_bias) r = _mm256_add_ps(r, bias);
          if (u.relu) r = relu_m256(r);
          if (u.nonfinite) finite_check = _mm256_add_ps(finite_check, _mm256_sub_ps(r, r));
          _mm256_storeu_ps(c, r);
          if (u.relu_copy) _mm256_storeu_ps(u.relu_copy + std::size_t(j0 + j) * ldc, relu_m256(r));
        }
      }
      // NaN is unordered with itself: set where an element was inf or NaN
      if (u.nonfinite && _mm256_movemask_ps(_mm256_cmp_ps(finite_check, finite_check, _CMP_UNORD_Q)))
        *u.nonfinite = true;
      return;
    }
#endif
    alignas(64) float tile[MRt * TW] = {};
    alignas(64) float relu_tile[MRt * TW];  // written by write_tile when used
    if (u.beta != 0.0f)
      for (int j = 0; j < nr; ++j)
        for (int i = 0; i < MRt; ++i) tile[i * TW + j] = C[std::size_t(j) * ldc + i];
    TileUpdate local = u;
    local.relu_copy = u.relu_copy ? relu_tile : nullptr;
    write_tile(acc, tile, TW, local);
    // Each matrix laid out as C (C itself, the ReLU's copy) gets the tile back transposed.
    const auto scatter = [nr, ldc](const float* from, float* to) {
      for (int j = 0; j < nr; ++j)
        for (int i = 0; i < MRt; ++i) to[std::size_t(j) * ldc + i] = from[i * TW + j];
    };
    scatter(tile, C);
    if (u.relu_copy) scatter(relu_tile, u.relu_copy);
    return;
  }
  if (nr == TW) {
    write_tile(acc, C, ldc, u);
    return;
  }
  // Ragged right edge: run the very same update on a padded copy, then copy the
  // valid columns back, so edge elements get exactly the arithmetic of interior ones.
  // Every matrix laid out as C (C itself, the velocities, the ReLU mask) goes
  // through a zero-padded (MRt, TW) copy of its nr valid columns.
  const auto pad = [nr, ldc](const float* from, float* to) {
    std::fill_n(to, MRt * TW, 0.0f);
    for (int i = 0; i < MRt; ++i)
      for (int j = 0; j < nr; ++j) to[i * TW + j] = from[std::size_t(i) * ldc + j];
  };
  const auto unpad = [nr, ldc](const float* from, float* to) {
    for (int i = 0; i < MRt; ++i)
      for (int j = 0; j < nr; ++j) to[std::size_t(i) * ldc + j] = from[i * TW + j];
  };
  alignas(64) float tile[MRt * TW] = {};
  alignas(64) float bias[TW] = {};
  alignas(64) float velocity[MRt * TW];  // padded below when used
  alignas(64) float mask[MRt * TW];      // padded below when used
  alignas(64) float relu_tile[MRt * TW];  // written by write_tile when used
  if (u.beta != 0.0f || u.sgd) pad(C, tile);
  TileUpdate padded = u;
  if (u.bias) {
    for (int j = 0; j < nr; ++j) bias[j] = u.bias[j];
    padded.bias = bias;
  }
  if (u.relu_mask) {
    pad(u.relu_mask, mask);
    padded.relu_mask = mask;
  }
  if (u.velocity) {
    pad(u.velocity, velocity);
    padded.velocity = velocity;
  }
  if (u.relu_copy) padded.relu_copy = relu_tile;
  write_tile(acc, tile, TW, padded);
  unpad(tile, C);
  if (u.velocity) unpad(velocity, u.velocity);
  if (u.relu_copy) unpad(relu_tile, u.relu_copy);
}

// kMicroKernels[layout][width][mr - 1] computes an (mr, nr) tile: width 0 for
// nr <= W, 1 for nr <= NV·W, 2 for the wide tile (nr = NVW·W, op(B) in place).
// Tall tiles (mr > MR) are never wide: null there.
using MicroKernel = void (*)(int, const float*, int, const float*, int, float*, int, int, const TileUpdate&);
template <int MRt, int NVt, ALayout AL>
constexpr MicroKernel micro_kernel_instance() {
  if constexpr (MRt <= MR || NVt <= NV)
    return &micro_kernel<MRt, NVt, AL>;
  else
    return nullptr;
}
template <int NVt, ALayout AL, std::size_t... I>
constexpr std::array<MicroKernel, MRT> micro_kernels_for(std::index_sequence<I...>) {
  return {micro_kernel_instance<int(I) + 1, NVt, AL>()...};
}
template <ALayout AL>
constexpr std::array<std::array<MicroKernel, MRT>, 3> micro_kernels_reading() {
  return {micro_kernels_for<1, AL>(std::make_index_sequence<MRT>{}),
          micro_kernels_for<NV, AL>(std::make_index_sequence<MRT>{}),
          micro_kernels_for<(NVW > 0 ? NVW : NV), AL>(std::make_index_sequence<MRT>{})};
}
constexpr std::array<std::array<MicroKernel, MRT>, 3> kMicroKernels[2] = {
    micro_kernels_reading<ALayout::KMajor>(), micro_kernels_reading<ALayout::RowMajor>()};

// The share of a tile row's vector lanes that hold elements of C when C's n
// columns run along the vectors: 10 columns fill 10 of 16 lanes, 64 fill all.
double lane_share(int n) { return double(n) / (double((n + W - 1) / W) * W); }

// True when C (M,N) computed as Cᵀ fills more of its vectors' lanes (see gemm()).
bool fills_more_lanes(int M, int N) { return N % W != 0 && lane_share(M) > lane_share(N); }

// ---- One thread's share ---------------------------------------------------------------
struct Problem {
  Trans ta, tb;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
  Epilogue epilogue;
  bool transposed = false;  // computes Cᵀ = op(B)ᵀ·op(A)ᵀ: C is stored (N,M), the bias is per row
};

// Depth of each KC block: K split into equal blocks of at most KC (KC_in_place when
// op(A) is read in place, see a_reader). Depends on K, the layout and the reported
// caches only, which is what keeps results independent of the thread count.
int kc_block(int K, bool a_in_place) {
  const int KC = a_in_place ? blocks().kc_in_place : blocks().kc;
  const int blocks_of_k = std::max(1, (K + KC - 1) / KC);
  return (K + blocks_of_k - 1) / blocks_of_k;
}

// Where the micro-kernels read a block op(A)[0:mc, 0:kc] from: the tile at row ir
// starts at data + ir*tile_step, its values are step apart (micro_kernel).
struct AReader {
  ALayout layout;
  const float* data;
  int step;
  std::size_t tile_step;
};

// op(A) stored (M,K) (Trans::No: x in the forward, dy in the input gradient) is
// read in place: a tile reads its MR rows front to back, the same cache lines as
// its packed copy would fill, so packing would only add a pass (a transpose, at
// that). op(A) stored (K,M) is packed (a plain copy): read in place, its tile
// would touch a whole cache line per k for MR floats. Unless A's rows are no
// longer than a panel's (the output layer's dy, 10 wide): then A already is its
// one packed panel, with a stride of lda, and the copy is skipped.
bool a_read_in_place(Trans ta) { return ta == Trans::No; }
AReader a_reader(Trans ta, const float* A, int lda, int mc, int kc, float* ap, float* row_sums) {
  if (a_read_in_place(ta)) return {ALayout::RowMajor, A, lda, std::size_t(lda)};
  const bool in_place = lda <= a_panel_width(mc);  // one panel: mc <= M <= lda
  if (!in_place) pack_a(A, lda, mc, kc, ap);
  if (row_sums) a_row_sums(A, lda, mc, kc, row_sums);  // after the copy (before it: 1-2% slower, dW1 and dW2)
  if (in_place) return {ALayout::KMajor, A, lda, 1};
  return {ALayout::KMajor, ap, a_panel_width(mc), std::size_t(kc)};
}

// Computes C[m0:m1, n0:n1] on the calling thread, packing op(A) into `buf` and
// op(B) into `bbuf` (unless it holds the block already: PackBuffers::b_call).
void gemm_rect(const Problem& p, int m0, int m1, int n0, int n1, PackBuffers& buf, PackBuffers& bbuf,
               std::uint64_t call) {
  const int MC = blocks().mc, NC = blocks().nc;
  const int kstep = std::max(1, kc_block(p.K, a_read_in_place(p.ta)));
  // Round the blocks up to whole tiles: packing zero-pads the edge panels.
  const auto round_up = [](int n, int to) { return std::size_t((n + to - 1) / to) * to; };
  float* const ap = p.ta == Trans::Yes ? buf.a.get(std::size_t(kstep) * round_up(std::min(MC, m1 - m0), MR)) : nullptr;
  bool nonfinite = false;  // an element written is inf or NaN (Epilogue::nonfinite)
  for (int jc = n0; jc < n1; jc += NC) {
    const int nc = std::min(NC, n1 - jc);
    // do-while: K == 0 still makes one pass, which applies beta and the epilogue.
    int pc = 0;
    do {
      const int kc = std::min(kstep, p.K - pc);
      const bool first = pc == 0, last = pc + kc >= p.K;
      const float* b = p.tb == Trans::No ? p.B + std::size_t(pc) * p.ldb + jc
                                         : p.B + std::size_t(jc) * p.ldb + pc;
      // op(B) stored (K,N) already holds each k's NR columns side by side: its panels
      // are read in place (stride ldb), which saves a copy of op(B) per call. Only a
      // last panel that is not whole vectors is packed (zero-padded), so the kernel
      // never reads past the matrix. Packed or not, the kernel multiplies the same
      // values in the same order: results are the same to the bit.
      const int packed_from = p.tb == Trans::No ? (nc % W == 0 ? nc : nc / NR * NR) : 0;
      float* const bp = packed_from < nc ? bbuf.b.get(std::size_t(kc) * round_up(nc - packed_from, NR)) : nullptr;
      if (bp && !(bbuf.b_call == call && bbuf.b_jc == jc && bbuf.b_pc == pc && bbuf.b_nc == nc)) {
        pack_b(p.tb, b + packed_from, p.ldb, kc, nc - packed_from, bp);
        bbuf.b_call = call, bbuf.b_jc = jc, bbuf.b_pc = pc, bbuf.b_nc = nc;
      }
      for (int ic = m0; ic < m1; ic += MC) {
        const int mc = std::min(MC, m1 - ic);
        const float* a = p.ta == Trans::No ? p.A + std::size_t(ic) * p.lda + pc
                                           : p.A + std::size_t(pc) * p.lda + ic;
        // op(A)'s row sums (Epilogue::a_row_sums) from its only K block, by the chunk
        // that has the first columns (the one pass over those rows).
        float* const sums = p.epilogue.a_row_sums && jc == 0 && first && last ? p.epilogue.a_row_sums + ic : nullptr;
        const AReader ar = a_reader(p.ta, a, p.lda, mc, kc, ap, sums);
        const bool tall = tall_block(mc);  // one tile of all mc rows
        for (int jr = 0; jr < nc;) {
          // A wide tile while NVW vectors of op(B)'s columns are left to read in place;
          // else a narrow one, which stops where op(B)'s packed columns begin (a
          // multiple of W away: wide and narrow tiles are whole vectors).
          const bool b_in_place = jr < packed_from;
          const bool wide = NVW > 0 && !tall && jr + NVW * W <= packed_from;
          const int nr = wide ? NVW * W : std::min({NR, nc - jr, b_in_place ? packed_from - jr : NR});
          const int width = wide ? 2 : nr > W;
          const float* b_panel = b_in_place ? b + jr : bp + std::size_t(jr - packed_from) * kc;
          TileUpdate u{p.alpha, first ? p.beta : 1.0f, nullptr, last && p.epilogue.relu};
          u.transposed = p.transposed;
          if (last && p.epilogue.nonfinite) u.nonfinite = &nonfinite;
          if (p.epilogue.sgd) u.sgd = p.epilogue.sgd;  // one K block (gemm_sgd_update_w)
          if (last && p.epilogue.bias && !p.transposed) u.bias = p.epilogue.bias + jc + jr;
          const bool masked = last && p.epilogue.relu_mask;  // never transposed (gemm())
          for (int ir = 0, mr = 0; ir < mc; ir += mr) {
            mr = tall ? mc : std::min(MR, mc - ir);
            if (last && p.epilogue.bias && p.transposed) u.row_bias = p.epilogue.bias + ic + ir;
            float* c = p.transposed ? p.C + std::size_t(jc + jr) * p.ldc + ic + ir
                                    : p.C + std::size_t(ic + ir) * p.ldc + jc + jr;
            if (p.epilogue.velocity) u.velocity = p.epilogue.velocity + (c - p.C);
            if (masked) u.relu_mask = p.epilogue.relu_mask + (c - p.C);
            if (last && p.epilogue.relu_copy) u.relu_copy = p.epilogue.relu_copy + (c - p.C);
            kMicroKernels[ar.layout == ALayout::RowMajor][width][mr - 1](
                kc, ar.data + std::size_t(ir) * ar.tile_step, ar.step, b_panel, b_in_place ? p.ldb : NR, c, p.ldc, nr, u);
          }
          jr += nr;
        }
      }
      pc += kc;
    } while (pc < p.K);
  }
  if (nonfinite) p.epilogue.nonfinite->store(true, std::memory_order_relaxed);
}

}  // namespace

void gemm(Trans ta, Trans tb, int M, int N, int K, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc, Epilogue epilogue) {
  if (M <= 0 || N <= 0) return;
  Problem p{ta, tb, M, N, std::max(K, 0), alpha, A, lda, B, ldb, beta, C, ldc, epilogue};
  if (ta == Trans::No && tb == Trans::Yes && (M < N || fills_more_lanes(M, N)) && !epilogue.relu_mask) {
    // Both operands have k along their stored rows (the forward x·Wᵀ, batch < out
    // features): packing op(B) would transpose the larger one (W) on every call.
    // Compute Cᵀ = op(B)ᵀ·op(A)ᵀ instead: the kernel reads B's rows in place (as
    // its A) and only the smaller A (x) is transposed into panels; the tiles are
    // written back transposed. Each element gets the same products in the same
    // order, so the result is the same to the bit. Also when C has fewer columns
    // than rows but its columns would leave more of the tiles' vectors empty (the
    // output layer, N = 10 of 16 lanes, against a batch of 64 rows): then the
    // vectors run along the batch instead, all of their lanes used.
    p = Problem{Trans::No, Trans::Yes, N, M, std::max(K, 0), alpha, B, ldb, A, lda, beta, C, ldc, epilogue, true};
    M = p.M, N = p.N;
  }

  // Split M or N across threads, in whole register tiles so every element lands in
  // the same place of the same kind of tile whatever the thread count. Rows (M) when
  // M >= N, or when op(B), which each thread running rows packs whole, is no larger
  // than C (K <= M): then thread t gets about slice t of C's rows, for a weight
  // gradient the rows of the weight its forward read and its update will write on
  // that core (thread_slice, core/parallel.hpp): cache lines moved between cores
  // cost more than packing B on both. Else columns (N): each chunk packs only its
  // columns of op(B).
  const bool split_n = N >= M && p.K > M;
  const int tile = split_n ? NR : MR;
  const int tiles = ((split_n ? N : M) + tile - 1) / tile;
  int threads = 1;
  if (double(M) * N * std::max(K, 1) >= double(kParallelMinWork) && !omp_in_parallel())
    threads = std::min(omp_get_max_threads(), tiles);

  const std::uint64_t call = next_gemm_call();
  if (threads <= 1) {
    gemm_rect(p, 0, M, 0, N, serial_pack_buffers(), serial_pack_buffers(), call);
    return;
  }
  // How many chunks: a worker the OS wakes late (a sleeping one, or one sharing its
  // core, or slowed by the host) still finds work when the work is cut finer than
  // one chunk per thread, and the chunks that finish first balance the rest: up to
  // kChunksPerThread chunks per thread (thread t's own share stays the same rows).
  // A chunk of columns packs only its columns of op(B); a chunk of rows needs all
  // of op(B), which each thread packs once per call and keeps for all the chunks of
  // rows it runs (pool_thread_b_buffers, sized here). (At most kPooledChunkBuffers
  // when there are fewer threads: each chunk keeps an op(A) buffer of its own.)
  const int chunks = std::min({tiles, threads * kChunksPerThread, std::max(threads, kPooledChunkBuffers)});
  const std::size_t b_floats = std::size_t(std::max(1, kc_block(p.K, a_read_in_place(p.ta)))) *
                               std::size_t((std::min(blocks().nc, N) + NR - 1) / NR * NR);
  for (int t = 0; t < std::min(threads, kPooledChunkBuffers); ++t) pool_thread_b_buffers(t).b.get(b_floats);
  // Chunk c takes tiles [tiles*c/chunks, tiles*(c+1)/chunks), on whichever thread
  // claims it first (core/parallel.hpp). Which thread computes a tile changes
  // nothing in its arithmetic, nor does where its packed op(B) came from.
  const auto chunk = [&](int c, bool pooled) {
    const int lo = int(static_cast<long long>(tiles) * c / chunks) * tile;
    const int hi = int(static_cast<long long>(tiles) * (c + 1) / chunks) * tile;
    PackBuffers& buf = pooled && c < kPooledChunkBuffers ? chunk_pack_buffers(c) : serial_pack_buffers();
    const int t = pooled ? current_pool_thread() : -1;
    PackBuffers& bbuf = t >= 0 && t < std::min(threads, kPooledChunkBuffers) ? pool_thread_b_buffers(t) : buf;
    if (split_n)
      gemm_rect(p, 0, M, lo, std::min(hi, N), buf, bbuf, call);
    else
      gemm_rect(p, lo, std::min(hi, M), 0, N, buf, bbuf, call);
  };
  parallel_chunks(chunks, threads, [&chunk](int c, bool pooled) { chunk(c, pooled); });  // one reference: no allocation
}

// gemm(Yes, No, ...) packs op(A) (dy stored (B,N)), so B is cut into blocks of KC.
bool gemm_dw_sums_dy(int B) { return kc_block(B, a_read_in_place(Trans::Yes)) >= B; }

bool gemm_sgd_update_w(int B, int N, int K, const float* dy, const float* x, const SgdStep& step, float* w,
                       float* velocity, std::atomic<bool>* nonfinite, float* dy_sums) {
  // One K block, so w gets each gradient whole; (Yes, No) is never computed as the
  // transpose, so each tile is of w itself.
  if (!gemm_dw_sums_dy(B)) return false;
  Epilogue update;
  update.sgd = &step;
  update.velocity = step.momentum != 0.0f ? velocity : nullptr;
  update.nonfinite = nonfinite;
  update.a_row_sums = dy_sums;
  // beta 0: the sums are the gradient alone; the update reads w itself.
  gemm(Trans::Yes, Trans::No, N, K, B, 1.0f, dy, N, x, K, 0.0f, w, K, update);
  return true;
}

const char* gemm_simd_name() { return xsimd::default_arch::name(); }
int gemm_simd_floats() { return W; }

}  // namespace xg
