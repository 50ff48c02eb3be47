// core/gemm_blocking: block sizes from reported cache sizes, and the fallback.
#include <initializer_list>

#include <doctest/doctest.h>

#include "core/gemm_blocking.hpp"

namespace {

xg::CacheSizes caches(long l1d, long ways, long l2, long l3, int cores) {
  xg::CacheSizes c;
  c.l1d = l1d;
  c.l1d_ways = ways;
  c.l2 = l2;
  c.l3 = l3;
  c.cores = cores;
  return c;
}

}  // namespace

TEST_CASE("gemm_blocking: KC keeps a B micro-panel in all L1 ways but two (in place: with MR rows of A in a quarter of L2), MC fills half of L2") {
  SUBCASE("48 KiB 12-way L1, 1 MiB L2 (AVX-512 tile 8 x 32)") {
    const xg::GemmBlocking b = xg::gemm_blocking(caches(48 * 1024, 12, 1024 * 1024, 32L << 20, 8), 8, 32);
    CHECK(b.kc == 320);           // 12288 floats * 10/12 / 32 columns
    CHECK(b.kc_in_place == 1024); // 262144 floats / 4 / (32 + 8) = 1638, at most 1024
    CHECK(b.mc == 408);           // 131072 floats / 320, down to a multiple of 8
    CHECK(b.nc == 512);           // 4 MiB per core: 1048576 floats / 2 / 1024, a multiple of 32
  }
  SUBCASE("32 KiB 8-way L1, 256 KiB L2, 8 MiB L3 for 4 cores (AVX2 tile 6 x 16)") {
    const xg::GemmBlocking b = xg::gemm_blocking(caches(32 * 1024, 8, 256 * 1024, 8L << 20, 4), 6, 16);
    CHECK(b.kc == 384);          // 8192 floats * 6/8 / 16
    CHECK(b.kc_in_place == 744); // 65536 floats / 4 / (16 + 6) = 744
    CHECK(b.mc == 84);           // 32768 floats / 384 = 85, down to a multiple of 6
    CHECK(b.nc == 352);          // 2 MiB / 4 bytes / 2 / 744 = 352, a multiple of 16
  }
}

TEST_CASE("gemm_blocking: unreported caches fall back to 32 KiB 8-way L1, 256 KiB L2, 2 MiB L3 per core") {
  const xg::GemmBlocking unreported = xg::gemm_blocking(xg::CacheSizes{}, 6, 16);
  const xg::GemmBlocking small = xg::gemm_blocking(caches(32 * 1024, 8, 256 * 1024, 2L << 20, 1), 6, 16);
  CHECK(unreported.kc == small.kc);
  CHECK(unreported.kc_in_place == small.kc_in_place);
  CHECK(unreported.mc == small.mc);
  CHECK(unreported.nc == small.nc);
  // An L1 reported without its ways is taken as 8-way.
  CHECK(xg::gemm_blocking(caches(64 * 1024, 0, 0, 0, 1), 6, 16).kc == 768);
}

TEST_CASE("gemm_blocking: absurd reports are clamped to whole tiles within bounds") {
  // A virtual machine reporting a 508 MiB L3 and a tiny L1.
  const xg::GemmBlocking b = xg::gemm_blocking(caches(1024, 8, 1024, 532676608L, 2), 8, 32);
  CHECK(b.kc == 64);
  CHECK(b.kc_in_place == 64);  // never shallower than kc
  CHECK(b.mc == 8);
  CHECK(b.nc == 4096);
  // A huge L1: KC at most 1024.
  CHECK(xg::gemm_blocking(caches(16L << 20, 16, 64L << 20, 0, 1), 8, 32).kc == 1024);
  for (int mr : {1, 4, 6, 8, 14})
    for (int nr : {4, 8, 16, 32}) {
      const xg::GemmBlocking g = xg::gemm_blocking(caches(48 * 1024, 12, 2L << 20, 32L << 20, 16), mr, nr);
      CHECK(g.kc % 8 == 0);
      CHECK(g.kc_in_place % 8 == 0);
      CHECK(g.kc_in_place >= g.kc);
      CHECK(g.kc_in_place <= 1024);
      CHECK(g.mc % mr == 0);
      CHECK(g.nc % nr == 0);
      CHECK(g.mc >= mr);
      CHECK(g.nc >= nr);
    }
}

TEST_CASE("cpu_cache_sizes reports non-negative sizes and at least one core") {
  const xg::CacheSizes c = xg::cpu_cache_sizes();
  CHECK(c.l1d >= 0);
  CHECK(c.l2 >= 0);
  CHECK(c.l3 >= 0);
  CHECK(c.cores >= 1);
  const xg::GemmBlocking b = xg::gemm_blocking(c, 8, 32);
  CHECK(b.kc >= 64);
  CHECK(b.kc <= 1024);
}
