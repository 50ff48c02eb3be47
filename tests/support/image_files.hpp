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
// A PNG with IHDR (w, h, `depth` bits, `colour`), one IDAT of the deflated `raw` bytes, and IEND.
std::string png_from_raw(std::uint32_t w, std::uint32_t h, int colour, const std::string& raw, int depth = 8);

// One PNG chunk: length, type, body, CRC.
std::string png_chunk(const std::string& type, const std::string& body);
// A PNG of colour type `colour` (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6
// RGBA) and bit `depth` whose unfiltered rows are `bytes` (h rows of w pixels,
// each pixel its samples, a 16-bit sample big-endian); row r uses filter r % 5.
// `chunks` (PLTE, tRNS, made by png_chunk) go between IHDR and IDAT.
std::string png_samples(std::uint32_t w, std::uint32_t h, int colour, int depth, const std::vector<std::uint8_t>& bytes,
                        const std::string& chunks = "");

}  // namespace xg::testing
