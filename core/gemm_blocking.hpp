#pragma once
// GEMM cache blocking from the caches the CPU reports, not from one machine's
// constants (core/gemm.cpp's loop nest uses it; see the diagram there).
//
//   KC  depth of a block:  a packed B micro-panel (KC x NR floats) stays in L1
//       while the A micro-panels stream past it; when op(A) is read in place
//       (not packed), its MR rows stream from L2 anyway, and the B micro-panel
//       and those rows take a quarter of L2 instead (KC_in_place, deeper: fewer
//       blocks, so fewer passes of the epilogue over C);
//   MC  rows of a packed A block (MC x KC floats): half of L2;
//   NC  columns of a packed B block (KC x NC floats): half of this core's share
//       of L3.
// This is the analytical model of Low, Igual, Smith and Quintana-Ortí, "Analytical
// modeling is enough for high-performance BLIS" (ACM TOMS 43(2), 2016), simplified.
//
// KC decides where the sum over k is cut into blocks, so it changes the order
// of additions: it depends only on the reported cache sizes (never on a timing
// or the thread count), which keeps a seed's results bit-identical at any
// thread count on a machine.

namespace xg {

// Bytes (0 = not reported) and associativity (ways; 0 = not reported).
struct CacheSizes {
  long l1d = 0;
  long l1d_ways = 0;
  long l2 = 0;
  long l3 = 0;
  int cores = 1;  // logical CPUs that share the L3 (at least 1)
};

// What this machine reports: sysconf(_SC_LEVEL1_DCACHE_SIZE, ...) (glibc asks
// cpuid on x86), else /sys/devices/system/cpu/cpu0/cache/index*/; zeros for
// whatever neither reports.
CacheSizes cpu_cache_sizes();

struct GemmBlocking {
  int kc;           // at most this deep (K is then cut into equal blocks no deeper)
  int kc_in_place;  // the same when op(A) is read in place; at least kc
  int mc;           // a multiple of mr
  int nc;           // a multiple of nr
};

// Block sizes for a micro-kernel tile of mr x nr floats. Unreported sizes fall
// back to a small common machine (L1 32 KiB 8-way, L2 256 KiB, L3 2 MiB per
// core). A pure function of its arguments.
GemmBlocking gemm_blocking(const CacheSizes& caches, int mr, int nr);

}  // namespace xg
