#pragma once
// Image files written by the tests: PNG files built chunk by chunk (so that a
// test can break any part of one).
#include <cstdint>
#include <string>
#include <vector>

namespace xg::testing {

// An 8-bit PNG of colour type `colour` (0: grey) whose rows use filter
// (row % 5) applied to `pixels` (w x h bytes); the last `cut_raw` bytes of the
// filtered data are dropped (a negative count appends that many zeros).
std::string png(std::uint32_t w, std::uint32_t h, const std::vector<std::uint8_t>& pixels, int colour = 0,
                std::int64_t cut_raw = 0);
// A PNG with IHDR (w, h, 8 bits, `colour`), one IDAT of the deflated `raw` bytes, and IEND.
std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw);

}  // namespace xg::testing
