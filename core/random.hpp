#pragma once
// A seeded random generator whose output is the same on every platform and
// compiler: std::mt19937 is fully specified by the standard, but the
// std::*_distribution classes are not, so the conversions live here.
#include <cstdint>
#include <random>
#include <vector>

namespace xg {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(static_cast<std::uint32_t>(seed ^ (seed >> 32))) {}

  std::uint32_t next_u32() { return engine_(); }
  // Skips n draws of next_u32 (uniform() takes one each).
  void discard(std::uint64_t n) { engine_.discard(n); }
  // Uniform in [lo, hi), from the top 24 bits (every float in the range is equally spaced).
  float uniform(float lo, float hi);
  // Standard normal via Box–Muller, scaled.
  float normal(float mean, float stddev);
  // Uniform integer in [0, n), without modulo bias.
  std::uint32_t below(std::uint32_t n);
  // Fisher–Yates shuffle.
  void shuffle(std::vector<std::uint32_t>& items);

 private:
  std::mt19937 engine_;
};

// SplitMix64's finaliser: spreads every bit of the input over the output, so
// nearby keys ((seed, epoch) pairs, item numbers) give unrelated values.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace xg
