#include "core/random.hpp"

#include <cmath>
#include <utility>

namespace xg {

float Rng::uniform(float lo, float hi) {
  const float unit = float(next_u32() >> 8) * (1.0f / 16777216.0f);  // [0, 1)
  return lo + (hi - lo) * unit;
}

float Rng::normal(float mean, float stddev) {
  // u1 in (0, 1] so that log(u1) is finite.
  const double u1 = (double(next_u32() >> 8) + 1.0) / 16777216.0;
  const double u2 = double(next_u32() >> 8) / 16777216.0;
  const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  return mean + stddev * float(z);
}

std::uint32_t Rng::below(std::uint32_t n) {
  // Reject the top partial block of 2^32 so every residue is equally likely.
  const std::uint32_t limit = std::uint32_t(-n) % n;  // == 2^32 mod n
  std::uint32_t r;
  do {
    r = next_u32();
  } while (r < limit);
  return r % n;
}

void Rng::shuffle(std::vector<std::uint32_t>& items) {
  for (std::size_t i = items.size(); i > 1; --i) {
    const std::size_t j = below(std::uint32_t(i));
    std::swap(items[i - 1], items[j]);
  }
}

}  // namespace xg
