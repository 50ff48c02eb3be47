#include "core/gemm_blocking.hpp"

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace xg {
namespace {

// "48K", "1024K", "32M" (sysfs) -> bytes; 0 when unreadable.
long read_sysfs_size(const std::string& path) {
  std::ifstream in(path);
  long value = 0;
  char unit = 0;
  if (!(in >> value) || value < 0) return 0;
  if (in >> unit) value *= unit == 'K' ? 1024L : unit == 'M' ? 1024L * 1024 : unit == 'G' ? 1024L * 1024 * 1024 : 1;
  return value;
}

long sysconf_or_zero(int name) {
  const long v = ::sysconf(name);
  return v > 0 ? v : 0;
}

// Floats in a cache of `bytes`.
long floats(long bytes) { return bytes / long(sizeof(float)); }

}  // namespace

CacheSizes cpu_cache_sizes() {
  CacheSizes c;
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  c.l1d = sysconf_or_zero(_SC_LEVEL1_DCACHE_SIZE);
  c.l1d_ways = sysconf_or_zero(_SC_LEVEL1_DCACHE_ASSOC);
  c.l2 = sysconf_or_zero(_SC_LEVEL2_CACHE_SIZE);
  c.l3 = sysconf_or_zero(_SC_LEVEL3_CACHE_SIZE);
#endif
  for (int index = 0; index < 8; ++index) {  // sysfs fills what sysconf did not
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type");
    int level = 0;
    std::string type;
    if (!(level_file >> level) || !(type_file >> type) || type == "Instruction") continue;
    const long size = read_sysfs_size(dir + "size");
    if (level == 1 && c.l1d == 0) {
      c.l1d = size;
      if (c.l1d_ways == 0) c.l1d_ways = read_sysfs_size(dir + "ways_of_associativity");
    }
    if (level == 2 && c.l2 == 0) c.l2 = size;
    if (level == 3 && c.l3 == 0) c.l3 = size;
  }
  c.cores = std::max(1, int(std::thread::hardware_concurrency()));
  return c;
}

GemmBlocking gemm_blocking(const CacheSizes& caches, int mr, int nr) {
  mr = std::max(1, mr);
  nr = std::max(1, nr);
  const long l1 = caches.l1d > 0 ? caches.l1d : 32 * 1024;
  const long ways = caches.l1d > 0 && caches.l1d_ways > 0 ? caches.l1d_ways : 8;
  const long l2 = caches.l2 > 0 ? caches.l2 : 256 * 1024;
  const long l3 = caches.l3 > 0 ? caches.l3 / std::max(1, caches.cores) : 2 * 1024 * 1024;

  // KC: the B micro-panel takes all ways of L1 but two (one for the A micro-panel
  // streaming through, one for C), in whole multiples of 8 (the packing transposes
  // 8x8 blocks); between 64 (a shallower block costs more in C traffic than it
  // saves) and 1024.
  const long ways_for_b = std::max(1L, ways - 2);
  long kc = floats(l1) * ways_for_b / ways / nr;
  kc = std::clamp(kc / 8 * 8, 64L, 1024L);

  // KC for a kernel that reads op(A) in place (stored (M,K)): it loads its MR rows
  // of A from L2 at every k already, so its B micro-panel may come from L2 too
  // (both together need about NR + MR floats per 2·MR·NR/W FMAs, which L2 delivers
  // as fast as the FMAs consume them): the micro-panel and the MR rows, (NR + MR)
  // floats per k, take a quarter of L2. A deeper block saves the passes that each
  // further block makes over C (read back, updated, stored again).
  long kc_in_place = floats(l2) / 4 / (nr + mr);
  kc_in_place = std::clamp(kc_in_place / 8 * 8, kc, 1024L);

  // MC: the packed A block fills half of L2 (the B micro-panels and C take the
  // rest), in whole tiles.
  long mc = floats(l2) / 2 / kc;
  mc = std::clamp(mc / mr * mr, long(mr), 4096L / mr * mr);

  // NC: the packed B block, as deep as the deeper KC, fills half of this core's
  // share of L3, in whole tiles; at most 4096 columns (a reported L3 can be huge
  // in a virtual machine, and the pack buffer grows with NC).
  long nc = floats(l3) / 2 / kc_in_place;
  nc = std::clamp(nc / nr * nr, long(nr), 4096L / nr * nr);
  return {int(kc), int(kc_in_place), int(mc), int(nc)};
}

}  // namespace xg
