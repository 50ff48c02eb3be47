#include "datasets/augment.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/random.hpp"

namespace xg {
namespace {

// A uniform integer in [0, n) from 32 random bits (Lemire's multiply-shift; the bias is below n / 2^32).
std::uint32_t below(std::uint32_t bits, std::uint32_t n) { return std::uint32_t((std::uint64_t(bits) * n) >> 32); }

}  // namespace

Augment parse_augment(const std::string& spec) {
  Augment a;
  if (spec.empty()) return a;
  bool seen_shift = false, seen_fill = false;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string token = spec.substr(start, comma - start);
    const auto bad = [&](const std::string& why) {
      throw InputError("--augment '" + spec + "': " + (token.empty() ? std::string("an empty item") : "'" + token + "'") + " " + why +
                       "; expected shift=N (1.." + std::to_string(kMaxAugmentShift) + "), fill=zero|edge and/or flip, comma separated, "
                       "e.g. shift=2,flip");
    };
    if (token == "flip") {
      if (a.flip) bad("is given twice");
      a.flip = true;
    } else if (token.rfind("shift=", 0) == 0) {
      const std::string n = token.substr(6);
      if (seen_shift) bad("is given twice");
      if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos) bad("needs a whole number of pixels");
      a.shift = std::size_t(std::stoul(n));
      if (a.shift == 0 || a.shift > kMaxAugmentShift) bad("is out of range");
      seen_shift = true;
    } else if (token == "fill=zero" || token == "fill=edge") {
      if (seen_fill) bad("is given twice");
      a.edge_fill = token == "fill=edge";
      seen_fill = true;
    } else {
      bad("is not an augmentation");
    }
    start = comma + 1;
  }
  if (seen_fill && !seen_shift) throw InputError("--augment '" + spec + "': fill= applies to shift=N, which is not given");
  return a;
}

std::uint64_t augment_key(std::uint64_t seed, std::size_t epoch, std::size_t item) {
  return mix64(mix64(seed ^ 0x61756731ull) ^ mix64(std::uint64_t(epoch) * 0x100000001B3ull) ^ std::uint64_t(item));
}

AugmentDraw draw_augment(const Augment& augment, std::uint64_t key) {
  const std::uint64_t bits = mix64(key);
  AugmentDraw d;
  if (augment.shift > 0) {
    const std::uint32_t span = std::uint32_t(2 * augment.shift + 1);
    d.dy = int(below(std::uint32_t(bits), span)) - int(augment.shift);
    d.dx = int(below(std::uint32_t(bits >> 32), span)) - int(augment.shift);
  }
  if (augment.flip) d.flip = (mix64(bits) & 1) != 0;
  return d;
}

void augment_image(const std::uint8_t* src, std::size_t channels, std::size_t rows, std::size_t cols, const Augment& augment,
                   const AugmentDraw& draw, std::uint8_t* dst) {
  const long R = long(rows), C = long(cols);
  for (std::size_t c = 0; c < channels; ++c) {
    const std::uint8_t* in = src + c * rows * cols;
    std::uint8_t* out = dst + c * rows * cols;
    for (long r = 0; r < R; ++r) {
      long sr = r - draw.dy;
      const bool row_outside = sr < 0 || sr >= R;
      if (augment.edge_fill) sr = std::clamp(sr, 0L, R - 1);
      for (long x = 0; x < C; ++x) {
        const long shifted = x - draw.dx;
        long sx = draw.flip ? C - 1 - shifted : shifted;
        const bool outside = row_outside || sx < 0 || sx >= C;
        if (augment.edge_fill) sx = std::clamp(sx, 0L, C - 1);
        out[r * C + x] = outside && !augment.edge_fill ? 0 : in[sr * C + sx];
      }
    }
  }
}

}  // namespace xg
